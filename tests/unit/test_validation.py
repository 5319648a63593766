"""Validators: each check on known cases, and properties over arbitrary text."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genroute.interfaces import ValidationInput
from genroute.policies.catalog import TaskType, ValidationConfig
from genroute.workers.validation.checks import (
    AllowedValues,
    BannedClaims,
    Bounds,
    JsonSchema,
    NotEmptyNorEcho,
)
from genroute.workers.validation.grounding import Grounding
from genroute.workers.validation.pipeline import validate, validators_for
from genroute.workers.validation.repair import outermost_object, parse_json_object

TICKET = (
    "Hi, I'm Maria Lopez. My order #A-10293 placed on 2026-11-02 for $149.99 arrived with a "
    "cracked screen. Please email maria.lopez@example.com."
)


def subject(output: str, source: str = TICKET, tokens: int = 10) -> ValidationInput:
    return ValidationInput(output, source, f"Summarise:\n{source}", tokens, None)


def test_grounded_summary_passes() -> None:
    out = "Maria Lopez says order A-10293 ($149.99, 2026-11-02) arrived with a cracked screen."
    assert Grounding().check(subject(out)).passed


def test_grounding_lists_every_invented_fact() -> None:
    out = "John Smith paid $20 for order B-999 on 2026-01-01; write to j@x.com."
    verdict = Grounding().check(subject(out))
    assert not verdict.passed
    found = verdict.details["ungrounded"]
    assert found["numbers"] == ["20"] and found["ids"] == ["B-999"]
    assert found["dates"] == ["2026-01-01"] and found["emails"] == ["j@x.com"]
    assert "Smith" in found["names"]


def test_json_repair_strips_fences_and_chatter() -> None:
    value, repaired = parse_json_object('Sure!\n```json\n{"a": "x}", "b": [1, {"c": 2}]}\n```')
    assert value == {"a": "x}", "b": [1, {"c": 2}]} and repaired
    assert outermost_object("no braces") is None
    with pytest.raises(ValueError, match="no JSON object"):
        parse_json_object("plain words")


def test_json_schema_reports_each_error() -> None:
    schema = {
        "type": "object",
        "required": ["order_id"],
        "properties": {"amount": {"type": "number"}},
    }
    verdict = JsonSchema(schema).check(subject('{"amount": "lots"}'))
    assert not verdict.passed
    messages = " ".join(e["message"] for e in verdict.details["errors"])
    assert "order_id" in messages and "'lots' is not of type 'number'" in messages


@pytest.mark.parametrize(
    ("check", "output", "passed"),
    [
        (NotEmptyNorEcho(True), "   ", False),
        (NotEmptyNorEcho(True), TICKET, False),
        (NotEmptyNorEcho(True), "A short, original answer.", True),
        (Bounds(1, 20, None, None, None, False), "x" * 21, False),
        (Bounds(1, None, None, None, 1, False), "- one\n- two", False),
        (Bounds(1, None, None, 2, None, False), "- one\n- two", True),
        (Bounds(1, None, None, None, None, True), "two\nlines", False),
        (AllowedValues(("billing", "refund")), " Refund. ", True),
        (AllowedValues(("billing", "refund")), "It is about refunds", False),
        (BannedClaims(("as an AI",), ()), "As an AI model I think", False),
        (BannedClaims((), (r"guarantee[ds]?",)), "We guaranteed it", False),
        (BannedClaims(("as an AI",), ()), "A plain answer", True),
    ],
)
def test_checks(check, output: str, passed: bool) -> None:
    assert check.check(subject(output)).passed is passed


def _task_type(**validation) -> TaskType:
    return TaskType(
        description="d",
        system_prompt="s",
        prompt_template="{input}",
        default_max_output_tokens=8,
        max_output_tokens=8,
        validation=ValidationConfig(**validation),
    )


def test_pipeline_adds_schema_when_the_request_requires_one() -> None:
    names = [v.name for v in validators_for(_task_type(grounding=True), {"schema_required": True})]
    assert names == ["non_empty", "bounds", "json_schema", "grounding"]


def test_a_crashing_validator_fails_closed() -> None:
    class Broken:
        name = "broken"

        def check(self, _subject):
            raise RuntimeError("bug")

    [verdict] = validate([Broken()], subject("x"))
    assert not verdict.passed and "bug" in verdict.details["crash"]


ALL_TEXT = st.text(max_size=400)


@settings(max_examples=300, deadline=None)
@given(output=ALL_TEXT, source=ALL_TEXT)
def test_no_validator_crashes_on_any_text(output: str, source: str) -> None:
    validators = validators_for(
        _task_type(grounding=True, allowed_values=("a",), banned_phrases=("x",), max_bullets=2),
        {"schema_required": True},
    )
    for verdict in validate(validators, subject(output, source)):
        assert "crash" not in verdict.details


@settings(max_examples=300, deadline=None)
@given(
    source=st.text(alphabet=st.characters(blacklist_categories=("Nd",)), max_size=200).map(
        lambda text: text + " order 4411 costs 59.00"
    ),
    number=st.integers(min_value=100, max_value=10**9),
    prefix=st.text(alphabet="abc ", max_size=30),
)
def test_grounding_flags_an_injected_number(source: str, number: int, prefix: str) -> None:
    if str(number) in re.sub(r"\D", "", source):
        return
    verdict = Grounding().check(subject(f"{prefix} {number} units", source))
    assert not verdict.passed
    assert str(number) in verdict.details["ungrounded"]["numbers"]


def test_a_reply_cut_at_the_token_limit_is_refused_unless_accepted() -> None:
    cut = ValidationInput("Maria Lopez reports that order A-10293", TICKET, "p", 12, None, "length")
    bounds = Bounds(1, None, None, None, None, False)
    verdict = bounds.check(cut)
    assert (
        not verdict.passed and "cut off at the output-token limit" in verdict.details["problems"][0]
    )
    assert Bounds(1, None, None, None, None, False, accept_truncated=True).check(cut).passed
    ended = ValidationInput("Maria Lopez reports a broken screen.", TICKET, "p", 8, None, "stop")
    assert bounds.check(ended).passed
