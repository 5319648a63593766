"""An attempt's spans, in OpenTelemetry's GenAI conventions plus genroute's own attributes:
the delivery's span (`process <queue>`, a consumer span under the request's trace, carried in
the Celery message), the model call (`chat <model>`, a client span timed by the engine's own
run of the attempt's batch) and the checks (`validate`, with each validator's verdict). No-ops
when tracing is off."""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from celery.exceptions import Retry
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from genroute.db.attempts import AttemptResult, Recorded
from genroute.interfaces import Verdict
from genroute.observability.tracing import context_of, record_model_call, tracer
from genroute.workers.claiming import Prepared
from genroute.workers.context import WorkerContext

# W3C trace context headers a Celery message may carry.
TRACE_HEADERS = ("traceparent", "tracestate")
# What the engines' facts name, as span attributes.
_FACTS = {
    "canvases": "genroute.canvases",
    "canvas_length": "genroute.canvas_length",
    "denoising_steps": "genroute.denoising_steps",
    "batch_size": "genroute.batch_size",
    "judge_cost": "genroute.judge_cost_usd",
}


def message_trace(request: object) -> dict[str, str]:
    """The trace context a delivery's message carried (Celery puts custom headers on its
    request)."""
    return {name: value for name in TRACE_HEADERS if (value := getattr(request, name, None))}


@contextmanager
def delivery_span(context: WorkerContext, task_id: str, queue: str, carried: Mapping[str, str]):
    """The span of one delivery of a task's message, a child of the request's span."""
    attributes = {
        "messaging.system": "celery",
        "messaging.operation.type": "process",
        "messaging.destination.name": queue,
        "genroute.task_id": task_id,
        "genroute.path": context.identity.path,
        "genroute.worker": context.identity.name,
    }
    with tracer().start_as_current_span(
        f"process {queue}",
        context=context_of(carried),
        kind=SpanKind.CONSUMER,
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            yield span
        except Retry:  # the message comes back later (claim held elsewhere, database away)
            span.set_attribute("genroute.retried", True)
            raise
        except Exception as exc:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, str(exc)[:200]))
            raise


@contextmanager
def validation_span(prepared: Prepared) -> Iterator[Span]:
    with tracer().start_as_current_span(
        "validate", attributes={"genroute.task_type": prepared.task_type_name}
    ) as span:
        yield span


def add_verdicts(span: Span, verdicts: list[Verdict]) -> None:
    for verdict in verdicts:
        span.set_attribute(f"genroute.verdict.{verdict.validator}", verdict.passed)
    failed = [v.validator for v in verdicts if not v.passed]
    if failed:
        span.set_status(Status(StatusCode.ERROR, f"failed: {', '.join(failed)}"))


def model_call_span(context: WorkerContext, prepared: Prepared, result: AttemptResult) -> None:
    """The engine's call for this attempt, as a finished client span (its batch's own run)."""
    started, finished = result.engine_started_at, result.engine_finished_at
    if started is not None and finished is not None:  # else the engine never ran it
        attributes = _model_attributes(context, prepared, result)
        record_model_call(context.identity.model, started, finished, attributes, result.error)


def attempt_attributes(
    span: Span, prepared: Prepared, result: AttemptResult, recorded: Recorded
) -> None:
    """What the attempt came to, on the delivery's span."""
    facts = result.engine_facts or {}
    span.set_attributes(
        {
            "genroute.attempt": prepared.attempt_no,
            "genroute.attempt_id": str(prepared.attempt_id),
            "genroute.task_type": prepared.task_type_name,
            "genroute.rule": prepared.route_rule,
            "genroute.policy_version": prepared.policy_version,
            "genroute.outcome": recorded.outcome,
            "genroute.next": recorded.next,
            "genroute.cost_usd": float(facts.get("cost") or 0.0),
        }
    )
    if recorded.outcome != "succeeded":
        span.set_status(Status(StatusCode.ERROR, f"{recorded.outcome}: {recorded.error}"[:200]))


def _model_attributes(
    context: WorkerContext, prepared: Prepared, result: AttemptResult
) -> dict[str, Any]:
    request, facts = prepared.request, result.engine_facts or {}
    attributes: dict[str, Any] = {
        "gen_ai.provider.name": "openai"
        if context.identity.engine == "openai-http"
        else context.identity.engine,
        "gen_ai.response.model": context.identity.model,
        "gen_ai.request.max_tokens": request.max_output_tokens,
        "genroute.engine": context.identity.engine,
        "genroute.path": context.identity.path,
        "genroute.attempt": prepared.attempt_no,
    }
    if request.temperature is not None:
        attributes["gen_ai.request.temperature"] = request.temperature
    if result.tokens_in is not None:
        attributes["gen_ai.usage.input_tokens"] = result.tokens_in
    if result.tokens_out is not None:
        attributes["gen_ai.usage.output_tokens"] = result.tokens_out
    if facts.get("finish_reason"):
        attributes["gen_ai.response.finish_reasons"] = [str(facts["finish_reason"])]
    if result.first_output_at is not None and result.engine_started_at is not None:
        first = (result.first_output_at - result.engine_started_at).total_seconds()
        attributes["genroute.time_to_first_chunk_s"] = max(0.0, first)
    for fact, name in _FACTS.items():
        if facts.get(fact) is not None:
            attributes[name] = facts[fact]
    return attributes
