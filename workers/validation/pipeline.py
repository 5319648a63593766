"""Build a task type's validators from its catalog entry and run them on an output."""

from typing import Any

from genroute.interfaces import ValidationInput, Validator, Verdict
from genroute.policies.catalog import TaskType
from genroute.workers.validation.checks import (
    AllowedValues,
    BannedClaims,
    Bounds,
    JsonSchema,
    NotEmptyNorEcho,
)
from genroute.workers.validation.claims import ClaimSupport
from genroute.workers.validation.grounding import Grounding


def validators_for(task_type: TaskType, request: dict[str, Any]) -> list[Validator]:
    """JSON Schema runs for JSON task types and whenever the request asks for a schema."""
    rules = task_type.validation
    chosen: list[Validator] = [
        NotEmptyNorEcho(rules.not_echo),
        Bounds(
            rules.min_chars,
            rules.max_chars,
            rules.max_tokens,
            rules.min_bullets,
            rules.max_bullets,
            rules.single_line,
            rules.accept_truncated,
        ),
    ]
    if rules.allowed_values:
        chosen.append(AllowedValues(rules.allowed_values))
    if rules.banned_phrases or rules.banned_patterns:
        chosen.append(BannedClaims(rules.banned_phrases, rules.banned_patterns))
    schema = output_schema(task_type, request)
    if schema is not None:
        chosen.append(JsonSchema(schema))
    if rules.grounding:
        chosen.append(Grounding())
    if rules.claim_support is not None:
        chosen.append(ClaimSupport(rules.claim_support))
    return chosen


def output_schema(task_type: TaskType, request: dict[str, Any]) -> dict[str, Any] | None:
    """The schema an output must meet, if any: for JSON task types and whenever the request
    requires one (the request's own schema first, then the task type's, else any object)."""
    if not (request.get("schema_required") or task_type.output_format == "json"):
        return None
    return request.get("json_schema") or task_type.json_schema or {"type": "object"}


def validate(validators: list[Validator], subject: ValidationInput) -> list[Verdict]:
    """Every validator's verdict; a validator that crashes fails, it never passes silently."""
    verdicts = []
    for validator in validators:
        try:
            verdicts.append(validator.check(subject))
        except Exception as exc:  # a bug in one check must not accept an output
            verdicts.append(
                Verdict(validator.name, False, {"crash": f"{type(exc).__name__}: {exc}"})
            )
    return verdicts
