"""The LLM judge's strict reading of an answer: yes or no first (in the ticket's language too),
anything else fails closed as judge_unparseable; the verdict carries the judge's text and its
cost."""

from datetime import UTC, datetime

import pytest

from genroute.interfaces import Generation, GenerationRequest, ValidationInput
from genroute.workers.validation.judge import Judge, judge_request, parse_answer


@pytest.mark.parametrize(
    ("text", "verdict", "rest"),
    [
        ("Yes.", "yes", ""),
        ("**No** - the approval is not in it.", "no", "the approval is not in it."),
        ("> no: 'three hundred euros'", "no", "'three hundred euros'"),
        ("Nein, die Gutschrift fehlt.", "no", "die Gutschrift fehlt."),
        ("ja", "yes", ""),
        ("The summary is supported.", None, ""),
        ("yesterday the order", None, ""),
        ("", None, ""),
    ],
)  # fmt: skip
def test_answers_are_read_strictly(text: str, verdict: str | None, rest: str) -> None:
    assert parse_answer(text) == (verdict, rest)


def _judge(answer: str) -> Judge:
    def generate(request: GenerationRequest) -> Generation:
        assert "Summary:\nOrder A-1 was refunded." in request.prompt and request.temperature == 0
        now = datetime.now(UTC)
        return Generation(answer, 100, 8, now, now, now)

    cost = {"gpu_seconds": 0.5, "cost": 0.002}
    return Judge(generate, lambda _: cost, "autoregressive", "Is every statement supported?")


def test_a_verdict_records_the_answer_and_its_cost() -> None:
    subject = ValidationInput("Order A-1 was refunded.", "Order A-1 arrived late.", "p", 8, None)
    refused = _judge("No - 'was refunded' is not in the ticket.").check(subject)
    assert (
        not refused.passed
        and refused.details["unsupported"] == "'was refunded' is not in the ticket."
    )
    assert refused.details["judge_cost"] == 0.002 and refused.details["path"] == "autoregressive"
    assert _judge("Yes").check(subject).passed
    unparseable = _judge("I think so").check(subject)
    assert not unparseable.passed and unparseable.details["verdict"] == "judge_unparseable"
    assert "Is every statement" in judge_request(subject, "Is every statement?", 16).prompt
