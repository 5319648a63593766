"""OpenTelemetry traces, configured only by the standard `OTEL_*` environment variables.

Tracing is on when `OTEL_TRACES_EXPORTER` names an exporter or an OTLP endpoint is set
(`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), unless
`OTEL_SDK_DISABLED=true`. Otherwise nothing is set up and every span is the API's no-op:
off and free. The exporters read their own variables (endpoint, headers, timeout, protocol:
`http/protobuf` by default, or `grpc`), the sampler reads `OTEL_TRACES_SAMPLER[_ARG]`, the
batch processor `OTEL_BSP_*`, and the resource `OTEL_SERVICE_NAME` and
`OTEL_RESOURCE_ATTRIBUTES`.

A request's context travels as W3C trace context (`traceparent`, `tracestate`): stored on its
task at submit and carried in each Celery message's headers, so the API's spans, every
attempt's (fallbacks included) and their model calls and checks are one trace.
"""

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace

from genroute.errors import ConfigurationError

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

log = logging.getLogger(__name__)

TRACER_NAME = "genroute"
_ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
_provider = None  # this process's SDK provider, once configured


def tracing_wanted(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the environment asks for traces (see the module's docstring)."""
    environ = os.environ if environ is None else environ
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporters:
        return exporters != "none"
    return any(environ.get(name, "").strip() for name in _ENDPOINTS)


def configure_tracing(default_service: str, environ: Mapping[str, str] | None = None) -> bool:
    """Set this process's tracer provider from the environment, once; False when tracing is
    off. `default_service` names the process when `OTEL_SERVICE_NAME` does not. Call it in
    the process that serves requests (a prefork child, not its parent: the batch processor's
    thread does not survive a fork)."""
    global _provider
    environ = os.environ if environ is None else environ
    if _provider is not None or not tracing_wanted(environ):
        return _provider is not None
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": environ.get("OTEL_SERVICE_NAME", default_service)})
    provider = TracerProvider(resource=resource)  # the sampler comes from OTEL_TRACES_SAMPLER
    for exporter in _exporters(environ):
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _provider = provider
    log.info("tracing on: spans of %s export to %s", default_service, _where(environ))
    return True


def shutdown_tracing() -> None:
    """Send what is buffered and stop exporting (on every way out of a process)."""
    global _provider
    if _provider is not None:
        _provider.shutdown()
        _provider = None


def _exporters(environ: Mapping[str, str]) -> list["SpanExporter"]:
    names = [n.strip().lower() for n in environ.get("OTEL_TRACES_EXPORTER", "otlp").split(",")]
    exporters = []
    for name in filter(None, names):
        if name == "otlp":
            exporters.append(_otlp_exporter(environ))
        elif name == "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            exporters.append(ConsoleSpanExporter())
        elif name != "none":
            raise ConfigurationError(
                f"OTEL_TRACES_EXPORTER: unknown exporter '{name}'; genroute exports otlp, "
                "console or none"
            )
    return exporters


def _otlp_exporter(environ: Mapping[str, str]) -> "SpanExporter":
    protocol = (
        environ.get(
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "")
        ).strip()
        or "http/protobuf"
    )
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    if protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter as HttpExporter,
        )

        return HttpExporter()
    raise ConfigurationError(
        f"OTEL_EXPORTER_OTLP_PROTOCOL: '{protocol}' is not one genroute exports; use "
        "http/protobuf or grpc"
    )


def _where(environ: Mapping[str, str]) -> str:
    endpoint = next((environ[n] for n in reversed(_ENDPOINTS) if environ.get(n)), None)
    return endpoint or environ.get("OTEL_TRACES_EXPORTER", "the default OTLP endpoint")


def tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER_NAME)


def current_carrier() -> dict[str, str] | None:
    """The current span's context as W3C headers, None when there is none to carry."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier or None


def context_of(carrier: Mapping[str, str] | None) -> otel_context.Context:
    """The context `carrier` holds (an empty one when None)."""
    return propagate.extract(dict(carrier or {}))


@contextmanager
def publish_span(
    queue: str, task_id: object, carried: Mapping[str, str] | None
) -> Iterator[dict[str, str] | None]:
    """A producer span for one message, under the request's trace; yields the headers that
    carry it (None when there is no trace to carry)."""
    attributes = {
        "messaging.system": "celery",
        "messaging.operation.type": "send",
        "messaging.destination.name": queue,
        "genroute.task_id": str(task_id),
    }
    with tracer().start_as_current_span(
        f"publish {queue}", context=context_of(carried), kind=trace.SpanKind.PRODUCER,
        attributes=attributes,
    ):  # fmt: skip
        yield current_carrier()


def record_model_call(
    model: str,
    started: datetime,
    finished: datetime,
    attributes: Mapping[str, Any],
    error: str | None = None,
) -> None:
    """A model call that already happened, as a finished client span `chat <model>` under the
    current span, timed as given (an engine's own run of a batch, not a wait for it)."""
    span = tracer().start_span(
        f"chat {model}",
        kind=trace.SpanKind.CLIENT,
        start_time=_ns(started),
        attributes={"gen_ai.operation.name": "chat", "gen_ai.request.model": model, **attributes},
    )
    if error:
        span.set_status(trace.Status(trace.StatusCode.ERROR, error[:200]))
    span.end(end_time=_ns(finished))


def _ns(moment: datetime) -> int:
    return int(moment.timestamp() * 1e9)
