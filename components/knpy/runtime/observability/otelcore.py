"""The OpenTelemetry tracer provider every traced knpy process makes from its settings.

Loaded only when tracing is on (through `tracing.load`): the exporter of the configured
protocol, ParentBased(TraceIdRatioBased(rate)) sampling, `service.name` from the settings.
"""

from __future__ import annotations

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import Span, StatusCode

from knpy.runtime.observability.tracing import TracingSettings


def _exporter(s: TracingSettings) -> SpanExporter:
    if s.protocol == "stdout":
        return ConsoleSpanExporter()
    if s.protocol == "grpc":
        # not in knpy[tracing]: installed by hand for tracing-protocol grpc
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # type: ignore[import-not-found]
            OTLPSpanExporter as GrpcExporter,
        )
        return GrpcExporter(endpoint=s.endpoint)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    return OTLPSpanExporter(endpoint=s.endpoint)


def provider(s: TracingSettings, exporter: SpanExporter | None = None) -> TracerProvider:
    """A provider exporting to the settings' protocol (or to `exporter`, for tests)."""
    p = TracerProvider(resource=Resource.create({"service.name": s.service_name or "knpy"}),
                       sampler=ParentBased(TraceIdRatioBased(s.sampling_rate)))
    if exporter is not None:
        p.add_span_processor(SimpleSpanProcessor(exporter))
        return p
    exp = _exporter(s)
    # stdout is for debugging: written as each span ends, never lost at exit
    p.add_span_processor(SimpleSpanProcessor(exp) if s.protocol == "stdout"
                         else BatchSpanProcessor(exp))
    return p


def end(span: Span, error: str = "") -> None:
    """End `span`; a non-empty `error` is its `error.type` and makes its status ERROR."""
    if error:
        span.set_attribute("error.type", error)
        span.set_status(StatusCode.ERROR)
    span.end()
