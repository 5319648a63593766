"""Traces on the running stack, which exports over OTLP/HTTP to a receiver the suite runs
(tests/otlp_receiver.py decodes the protobuf wire format): one submitted task is one trace,
continuing the caller's `traceparent`, from the API's server span through the publish to the
worker's delivery, its model call (with `gen_ai.*` attributes) and its checks."""

import secrets

import pytest

from genroute.local.stack import Stack
from tests.helpers import ticket, wait_for_task, wait_until
from tests.otlp_receiver import ReceivedSpan, Receiver

pytestmark = pytest.mark.integration

SERVER, CLIENT, PRODUCER, CONSUMER = 2, 3, 4, 5  # OTLP's SpanKind numbers


def _one(spans: list[ReceivedSpan], name_start: str) -> ReceivedSpan:
    found = [span for span in spans if span.name.startswith(name_start)]
    assert len(found) == 1, [span.name for span in spans]
    return found[0]


def test_one_task_is_one_trace_across_the_api_and_worker_processes(
    stack: Stack, otlp: Receiver
) -> None:
    trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    headers = {"traceparent": f"00-{trace_id}-{caller_span}-01"}
    with stack.http() as client:
        accepted = client.post("/v1/tasks", json=ticket(), headers=headers).raise_for_status()
        view = wait_for_task(client, accepted.json()["id"])
    attempts = len(view.attempts)

    def whole() -> list[ReceivedSpan] | None:
        spans = otlp.trace(trace_id)
        processes = [s for s in spans if s.name.startswith("process ")]
        models = [s for s in spans if s.name.startswith("chat ")]
        return spans if len(processes) == attempts and len(models) >= 1 else None

    spans = wait_until(whole, 30, "the task's spans arriving at the receiver", interval_s=0.2)
    services = {span.service for span in spans}
    assert "genroute-api" in services and any(s.startswith("genroute-worker-") for s in services)
    [server] = [s for s in spans if s.kind == SERVER and s.name == "POST /v1/tasks"]
    assert server.kind == SERVER and server.parent_span_id == caller_span
    assert server.attributes["http.response.status_code"] == 202
    by_id = {span.span_id: span for span in spans}

    def ancestors(span: ReceivedSpan) -> list[str]:
        found = []
        while span.parent_span_id in by_id:
            span = by_id[span.parent_span_id]
            found.append(span.span_id)
        return found

    publishes = [s for s in spans if s.name.startswith("publish ")]
    assert any(p.kind == PRODUCER and server.span_id in ancestors(p) for p in publishes)
    deliveries = [s for s in spans if s.name.startswith("process ")]
    for delivery in deliveries:  # each attempt's delivery follows a publish of the trace
        assert delivery.kind == CONSUMER and by_id[delivery.parent_span_id].kind == PRODUCER
        assert delivery.attributes["genroute.task_id"] == str(view.id)
    first = next(d for d in deliveries if d.attributes.get("genroute.attempt") == 1)
    assert first.attributes["genroute.path"] == view.attempts[0].path
    assert first.attributes["genroute.policy_version"] == view.route.policy_version
    assert first.attributes["genroute.cost_usd"] == pytest.approx(view.attempts[0].cost)
    model = next(
        s for s in spans if s.name.startswith("chat ") and s.parent_span_id == first.span_id
    )
    assert model.kind == CLIENT
    assert model.attributes["gen_ai.operation.name"] == "chat"
    assert model.attributes["gen_ai.request.model"] == view.attempts[0].model
    assert model.attributes["gen_ai.usage.input_tokens"] == view.attempts[0].tokens_in
    assert model.attributes["gen_ai.usage.output_tokens"] == view.attempts[0].tokens_out
    assert model.attributes["gen_ai.request.max_tokens"] == 12
    checks = next(s for s in spans if s.name == "validate" and s.parent_span_id == first.span_id)
    verdicts = {k for k in checks.attributes if k.startswith("genroute.verdict.")}
    assert verdicts == {f"genroute.verdict.{v.validator}" for v in view.attempts[0].validations}


def test_a_fallback_attempt_is_in_the_same_trace(stack: Stack, otlp: Receiver) -> None:
    trace_id = secrets.token_hex(16)
    headers = {"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}
    with stack.http() as client:
        # Random diffusion text is never an allowed label: the fallback answers.
        answer = client.post("/v1/tasks", json=ticket(task_type="classification"), headers=headers)
        view = wait_for_task(client, answer.raise_for_status().json()["id"], timeout_s=180)
    assert [a.queue for a in view.attempts] == ["diffusion", "fallback"]

    def deliveries() -> list[ReceivedSpan] | None:
        found = [s for s in otlp.trace(trace_id) if s.name.startswith("process ")]
        return found if len(found) == 2 else None

    first, fallback = sorted(
        wait_until(deliveries, 30, "both deliveries' spans", interval_s=0.2),
        key=lambda span: span.attributes["genroute.attempt"],
    )
    by_id = {span.span_id: span for span in otlp.trace(trace_id)}
    requeue = by_id[fallback.parent_span_id]  # the publish that put it on the fallback queue
    assert requeue.name == "publish fallback" and requeue.parent_span_id == first.span_id
    assert first.attributes["genroute.outcome"] == "invalid"
    assert first.attributes["genroute.next"] == "fallback"
    assert fallback.attributes["genroute.outcome"] == "succeeded"
