"""The OpenTelemetry side of control-plane tracing: one span per operation (a reconcile,
an admission review), for components that are not on the request path.

Loaded only through `tracing.load` when tracing is on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace.export import SpanExporter
from opentelemetry.trace import Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from knpy.runtime.observability import otelcore
from knpy.runtime.observability.tracing import TracingSettings

_PROPAGATOR = TraceContextTextMapPropagator()
_KINDS = {"internal": SpanKind.INTERNAL, "server": SpanKind.SERVER,
          "consumer": SpanKind.CONSUMER}


class OperationTracer:
    def __init__(self, s: TracingSettings, scope: str,
                 exporter: SpanExporter | None = None) -> None:
        self.provider = otelcore.provider(s, exporter)
        self.tracer = self.provider.get_tracer(scope)

    def start(self, name: str, attributes: Mapping[str, Any], kind: str = "internal",
              parent: Mapping[str, str] | Span | None = None) -> Span:
        """A span; `parent`: the caller's W3C headers (traceparent, tracestate), or a span
        of this process, if any."""
        ctx: Context | None = None
        if isinstance(parent, Span):
            ctx = trace.set_span_in_context(parent)
        elif parent:
            ctx = _PROPAGATOR.extract(dict(parent))
        return self.tracer.start_span(name, context=ctx, kind=_KINDS[kind],
                                      attributes=dict(attributes))

    def end(self, span: Span, attributes: Mapping[str, Any] | None = None,
            error: str = "") -> None:
        if attributes:
            span.set_attributes(dict(attributes))
        otelcore.end(span, error)

    def shutdown(self) -> None:
        self.provider.shutdown()
