"""Producers' JSON Schemas: checked when a request is submitted (the 2020-12 meta-schema, a
depth bound, local references only, and every regular expression one that RE2 runs), and
validated with RE2 in place of Python's backtracking `re`, so no schema a producer sends can
crash the validator or make a worker backtrack catastrophically."""

from collections.abc import Iterator
from functools import cache
from typing import Any

import re2
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError, best_match

from genroute.errors import RequestRejected

MAX_DEPTH = 32
_REGEX_KEYWORDS = ("pattern", "patternProperties")


@cache
def _compiled(pattern: str) -> Any:
    options = re2.Options()
    options.log_errors = False
    return re2.compile(pattern, options=options)


def _search(pattern: str, text: str) -> bool:
    return _compiled(pattern).search(text) is not None


def _pattern(
    validator: Any, pattern: str, instance: Any, _schema: Any
) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not _search(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(
    validator: Any, patterns: dict[str, Any], instance: Any, _schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if _search(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(
    validator: Any, allowed: Any, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    known, patterns = schema.get("properties", {}), schema.get("patternProperties", {})
    extras = [
        key
        for key in instance
        if key not in known and not any(_search(pattern, key) for pattern in patterns)
    ]
    if validator.is_type(allowed, "object"):
        for key in extras:
            yield from validator.descend(instance[key], allowed, path=key)
    elif not allowed and extras:
        yield ValidationError(f"additional properties are not allowed: {sorted(extras)}")


SafeValidator = validators.extend(
    Draft202012Validator,
    {
        "pattern": _pattern,
        "patternProperties": _pattern_properties,
        "additionalProperties": _additional_properties,
    },
)


def _walk(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, (*path, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, (*path, str(index)))


def _reject(path: tuple[str, ...], message: str) -> RequestRejected:
    pointer = "/" + "/".join(path)
    return RequestRejected(".".join(("json_schema", *path)), f"at {pointer}: {message}")


def check_schema(schema: dict[str, Any]) -> None:
    """Refuse, naming the path inside the schema, anything the validator could not run
    safely. Size is bounded by the contract (MAX_SCHEMA_BYTES)."""
    error = best_match(Draft202012Validator(Draft202012Validator.META_SCHEMA).iter_errors(schema))
    if error is not None:
        raise _reject(tuple(str(p) for p in error.absolute_path), error.message)
    nodes = [(path, node) for path, node in _walk(schema) if isinstance(node, dict)]
    for path, node in nodes:
        if len(path) > MAX_DEPTH:
            raise _reject(path, f"nested deeper than {MAX_DEPTH} levels")
        reference = node.get("$ref")
        if isinstance(reference, str) and not reference.startswith("#"):
            raise _reject(
                (*path, "$ref"), "only references inside this schema ('#...') are allowed"
            )
        for keyword in _REGEX_KEYWORDS:
            _check_patterns(path, keyword, node.get(keyword))
    # jsonschema matches patternProperties with Python's re while it works out which
    # properties were evaluated; refuse the pair rather than run that.
    unevaluated = [path for path, node in nodes if "unevaluatedProperties" in node]
    patterned = [path for path, node in nodes if "patternProperties" in node]
    if unevaluated and patterned:
        raise _reject(
            (*patterned[0], "patternProperties"),
            "patternProperties cannot be combined with unevaluatedProperties "
            f"(at /{'/'.join(unevaluated[0])})",
        )


def _check_patterns(path: tuple[str, ...], keyword: str, value: Any) -> None:
    patterns = [value] if isinstance(value, str) else list(value) if isinstance(value, dict) else []
    for pattern in patterns:
        try:
            _compiled(pattern)
        except re2.error as exc:
            detail = exc.args[0].decode() if isinstance(exc.args[0], bytes) else exc.args[0]
            message = f"{pattern!r} is not a pattern RE2 can run: {detail}"
            raise _reject((*path, keyword), message) from None
