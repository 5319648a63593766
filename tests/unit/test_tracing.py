"""Tracing's configuration by the OTEL_* variables (off unless asked), export over OTLP/gRPC
and OTLP/HTTP to a receiver that decodes the wire format, and the spans genroute makes, read
back from the SDK's in-memory exporter: the publish carries its context in the message
headers, and the delivery continues it."""

import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from genroute.contract import AttemptOutcome
from genroute.db.attempts import AttemptResult, Recorded
from genroute.errors import ConfigurationError
from genroute.interfaces import Generation, GenerationRequest, ValidationInput, Verdict
from genroute.observability.tracing import (
    _exporters,
    _otlp_exporter,
    publish_span,
    tracing_wanted,
)
from genroute.workers.attempt_spans import (
    add_verdicts,
    attempt_attributes,
    delivery_span,
    message_trace,
    model_call_span,
    validation_span,
)
from genroute.workers.validation.judge import Judge
from tests.helpers import wait_until
from tests.otlp_receiver import otlp_receiver


@pytest.mark.parametrize(
    ("environ", "wanted"),
    [
        ({}, False),
        ({"OTEL_SERVICE_NAME": "x"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, False),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, False),
    ],
)
def test_tracing_is_off_unless_the_environment_asks(environ: dict, wanted: bool) -> None:
    assert tracing_wanted(environ) is wanted


def test_unknown_exporters_and_protocols_are_named() -> None:
    with pytest.raises(ConfigurationError, match="OTEL_TRACES_EXPORTER: unknown exporter 'zipkin'"):
        _exporters({"OTEL_TRACES_EXPORTER": "zipkin"})
    with pytest.raises(ConfigurationError, match="OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json'"):
        _otlp_exporter({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"})


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_spans_reach_an_otlp_receiver(protocol: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with otlp_receiver() as receiver:
        endpoint = receiver.grpc_endpoint if protocol == "grpc" else receiver.http_url
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        provider = TracerProvider()
        exporter = _otlp_exporter({"OTEL_EXPORTER_OTLP_PROTOCOL": protocol})
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        with provider.get_tracer("t").start_as_current_span("chat m") as span:
            span.set_attribute("gen_ai.usage.output_tokens", 7)
            trace_id = format(span.get_span_context().trace_id, "032x")
        provider.shutdown()
        [received] = wait_until(lambda: receiver.trace(trace_id), 10, "the span arriving")
    assert received.name == "chat m" and received.attributes == {"gen_ai.usage.output_tokens": 7}


@pytest.fixture(scope="module")
def finished_spans() -> InMemorySpanExporter:
    """The process's tracer provider, recording into memory (set once per process)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    if trace.get_tracer_provider() is not provider:
        pytest.skip("another tracer provider is already set in this process")
    return exporter


def test_an_attempt_is_traced_in_genai_conventions(finished_spans: InMemorySpanExporter) -> None:
    finished_spans.clear()
    started = datetime(2026, 12, 5, 12, tzinfo=UTC)
    context = SimpleNamespace(
        identity=SimpleNamespace(path="diffusion", engine="diffusion-gemma", model="dg", name="w1")
    )
    prepared = SimpleNamespace(
        request=GenerationRequest("sys", "prompt", 64, temperature=0.4),
        attempt_no=2,
        attempt_id=uuid.uuid4(),
        task_type_name="ticket_summary",
        route_rule="summaries-diffusion",
        policy_version="3+abc",
    )
    result = AttemptResult(
        AttemptOutcome.succeeded,
        output_text="ok",
        tokens_in=40,
        tokens_out=12,
        first_output_at=started + timedelta(seconds=0.3),
        engine_started_at=started,
        engine_finished_at=started + timedelta(seconds=1),
        engine_facts={"cost": 0.001, "canvases": 1, "denoising_steps": 9, "finish_reason": "stop"},
    )
    with publish_span("diffusion", "t-1", None) as headers:
        pass
    carried = message_trace(SimpleNamespace(**headers))
    with delivery_span(context, "t-1", "diffusion", carried) as delivery:
        model_call_span(context, prepared, result)
        with validation_span(prepared) as checking:
            add_verdicts(checking, [Verdict("grounding", True), Verdict("max_chars", False)])
        attempt_attributes(delivery, prepared, result, Recorded("failed", outcome="invalid"))
    spans = {span.name: span for span in finished_spans.get_finished_spans()}
    publish, process = spans["publish diffusion"], spans["process diffusion"]
    model, checks = spans["chat dg"], spans["validate"]
    assert process.parent.span_id == publish.context.span_id
    assert process.context.trace_id == publish.context.trace_id == model.context.trace_id
    assert model.parent.span_id == checks.parent.span_id == process.context.span_id
    assert model.kind is trace.SpanKind.CLIENT and process.kind is trace.SpanKind.CONSUMER
    assert (model.end_time - model.start_time) == 1_000_000_000  # the engine's own run
    assert dict(model.attributes) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "diffusion-gemma",
        "gen_ai.request.model": "dg",
        "gen_ai.response.model": "dg",
        "gen_ai.request.max_tokens": 64,
        "gen_ai.request.temperature": 0.4,
        "gen_ai.usage.input_tokens": 40,
        "gen_ai.usage.output_tokens": 12,
        "gen_ai.response.finish_reasons": ("stop",),
        "genroute.time_to_first_chunk_s": pytest.approx(0.3),
        "genroute.canvases": 1,
        "genroute.denoising_steps": 9,
        "genroute.engine": "diffusion-gemma",
        "genroute.path": "diffusion",
        "genroute.attempt": 2,
    }
    assert checks.attributes["genroute.verdict.max_chars"] is False
    assert checks.status.status_code is trace.StatusCode.ERROR
    assert process.attributes["genroute.rule"] == "summaries-diffusion"
    assert process.attributes["genroute.cost_usd"] == 0.001
    assert process.attributes["genroute.outcome"] == "invalid"


def test_the_judges_model_call_is_a_span_of_its_own(finished_spans: InMemorySpanExporter) -> None:
    finished_spans.clear()
    started = datetime(2026, 12, 5, 12, tzinfo=UTC)

    def generate(request: GenerationRequest) -> Generation:
        return Generation("yes", 50, 2, started, None, started + timedelta(seconds=0.5))

    judge = Judge(generate, lambda g: {"cost": 0.0002}, "autoregressive", "Supported?", model="sm")
    subject = ValidationInput("A summary.", "The ticket.", "prompt", 3, None)
    assert judge.check(subject).passed
    [span] = finished_spans.get_finished_spans()
    assert span.name == "chat sm" and span.attributes["genroute.judge"] is True
    assert span.attributes["gen_ai.usage.input_tokens"] == 50
    assert span.attributes["genroute.path"] == "autoregressive"


def test_a_retried_delivery_is_no_error_and_a_crash_is(
    finished_spans: InMemorySpanExporter,
) -> None:
    from celery.exceptions import Retry

    finished_spans.clear()
    context = SimpleNamespace(identity=SimpleNamespace(path="diffusion", name="w1"))
    with pytest.raises(Retry), delivery_span(context, "t-1", "diffusion", {}):
        raise Retry("claim held elsewhere")
    with pytest.raises(ZeroDivisionError), delivery_span(context, "t-2", "diffusion", {}):
        _ = 1 / 0
    retried, crashed = finished_spans.get_finished_spans()
    assert retried.status.status_code is trace.StatusCode.UNSET
    assert retried.attributes["genroute.retried"] is True
    assert crashed.status.status_code is trace.StatusCode.ERROR and crashed.events
