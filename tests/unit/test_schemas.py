"""Producers' JSON Schemas are checked before they are accepted and validated with RE2."""

import time

import pytest

from genroute.errors import RequestRejected
from genroute.runtime.schemas import MAX_DEPTH, SafeValidator, check_schema


def _rejected(schema: dict) -> RequestRejected:
    with pytest.raises(RequestRejected) as caught:
        check_schema(schema)
    return caught.value


def test_a_schema_that_breaks_the_meta_schema_names_its_path() -> None:
    error = _rejected({"type": "object", "properties": {"id": {"type": "foo"}}})
    assert error.field == "json_schema.properties.id.type"
    assert error.message.startswith("at /properties/id/type: ")
    assert _rejected({"type": "foo", "properties": 5}).field.startswith("json_schema.")


def test_depth_remote_references_and_unsafe_patterns_are_refused() -> None:
    deep: dict = {"type": "string"}
    for _ in range(MAX_DEPTH):
        deep = {"type": "object", "properties": {"x": deep}}
    assert "deeper than" in _rejected(deep).message
    assert "$ref" in _rejected({"$ref": "https://example.com/s.json"}).field
    assert "RE2" in _rejected({"pattern": "(?=a)b"}).message
    pair = {"patternProperties": {"^x": {}}, "unevaluatedProperties": False}
    assert "unevaluatedProperties" in _rejected(pair).message


def test_safe_schemas_pass() -> None:
    check_schema(
        {
            "type": "object",
            "properties": {"order_id": {"type": "string", "pattern": "^[A-Z]-[0-9]+$"}},
            "patternProperties": {"^x-": {"type": "string"}},
            "$defs": {"amount": {"type": "number"}},
            "additionalProperties": {"$ref": "#/$defs/amount"},
        }
    )


def test_patterns_run_in_linear_time() -> None:
    """`(a+)+$` backtracks exponentially in Python's re; RE2 answers at once."""
    schema = {"type": "string", "pattern": "^(a+)+$"}
    check_schema(schema)
    started = time.perf_counter()
    errors = list(SafeValidator(schema).iter_errors("a" * 40 + "!"))
    assert time.perf_counter() - started < 1.0
    assert len(errors) == 1 and "does not match" in errors[0].message


def test_pattern_properties_and_additional_properties_use_re2() -> None:
    schema = {"patternProperties": {"^x": {"type": "integer"}}, "additionalProperties": False}
    errors = sorted(e.message for e in SafeValidator(schema).iter_errors({"xa": "one", "b": 2}))
    assert errors == [
        "'one' is not of type 'integer'",
        "additional properties are not allowed: ['b']",
    ]
