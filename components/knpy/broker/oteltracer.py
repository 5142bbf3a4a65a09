"""The OpenTelemetry side of broker tracing: the spans of the event path.

Loaded only through `runtime.observability.tracing.load` when tracing is on; with tracing
off the ingress and the dispatcher hold None and never call here.

Spans (OTel messaging semantic conventions, `messaging.system` = "knative"):
- ingress: PRODUCER `send <ns>/<broker>`, child of the producer's `traceparent`; its context
  is what the stored record carries, so the trace survives the store;
- dispatcher: CONSUMER `process <ns>/<trigger>` per matching record handed out, child of
  the stored context; under it a CLIENT `POST` per HTTP delivery (subscriber, reply URI,
  dead-letter sink), whose context is the delivered `traceparent`; and a PRODUCER
  `send <ns>/<broker>` when a reply goes back into the broker, whose context the reply's
  record carries.

Only the W3C `traceparent`/`tracestate` request headers change hop by hop; `baggage` and the
CloudEvents distributed-tracing extension (the `traceparent`/`tracestate` attributes of
the event itself) pass through untouched, as OTel's CloudEvents conventions ask.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter
from opentelemetry.trace import Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from knpy.runtime.cloudevents import CloudEvent
from knpy.runtime.observability import otelcore
from knpy.runtime.observability.tracing import TracingSettings

_PROPAGATOR = TraceContextTextMapPropagator()
_W3C = ("traceparent", "tracestate")
Headers = list[tuple[str, str]]


def _parent(headers: Iterable[tuple[str, str]]) -> Context:
    carrier = {k.lower(): v for k, v in headers if k.lower() in _W3C}
    return _PROPAGATOR.extract(carrier)


def _with_context(headers: Iterable[tuple[str, str]], span: Span) -> Headers:
    """`headers` with traceparent/tracestate replaced by `span`'s context."""
    out = [(k, v) for k, v in headers if k.lower() not in _W3C]
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span))
    out.extend(carrier.items())
    return out


def _event_attributes(event: CloudEvent) -> dict[str, Any]:
    a = event.attributes
    attrs: dict[str, Any] = {"messaging.message.id": event.id,
                             "cloudevents.event_id": event.id,
                             "cloudevents.event_source": event.source,
                             "cloudevents.event_type": event.type,
                             "cloudevents.event_spec_version": str(a.get("specversion", ""))}
    subject = a.get("subject")
    if subject is not None:
        attrs["cloudevents.event_subject"] = str(subject)
    return attrs


class BrokerTracer:
    """Per-process tracer provider plus the calls the ingress and the dispatcher make."""

    def __init__(self, s: TracingSettings, exporter: SpanExporter | None = None) -> None:
        self.provider: TracerProvider = otelcore.provider(s, exporter)
        self.tracer = self.provider.get_tracer("knpy.broker")

    # ---------------------------------------------------------------- both roles
    def send(self, broker: str, event: CloudEvent, headers: Headers,
             parent: Span | None = None) -> tuple[Span, Headers]:
        """A PRODUCER span for storing `event` into `broker`: child of `parent` (a reply,
        in the dispatcher) or of the request's traceparent (the ingress). Returns the span
        and the headers to store, carrying its context."""
        ctx = trace.set_span_in_context(parent) if parent is not None else _parent(headers)
        attrs = {"messaging.system": "knative", "messaging.operation.type": "send",
                 "messaging.operation.name": "send", "messaging.destination.name": broker,
                 **_event_attributes(event)}
        span = self.tracer.start_span(f"send {broker}", context=ctx, kind=SpanKind.PRODUCER,
                                      attributes=attrs)
        return span, _with_context(headers, span)

    def stored(self, span: Span, error: str = "") -> None:
        """End a `send` span: stored, or not (`error` says why)."""
        otelcore.end(span, error)

    # ---------------------------------------------------------------- dispatcher
    def process(self, broker: str, trigger: str, event: CloudEvent, headers: Headers,
                attempt: int) -> Span:
        """The CONSUMER span of one hand-out of a matching record to a trigger."""
        attrs = {"messaging.system": "knative", "messaging.operation.type": "process",
                 "messaging.operation.name": "process", "messaging.destination.name": broker,
                 "messaging.destination.subscription.name": trigger,
                 "messaging.consumer.group.name": trigger,
                 "knative.delivery.attempt": attempt, **_event_attributes(event)}
        return self.tracer.start_span(f"process {trigger}", context=_parent(headers),
                                      kind=SpanKind.CONSUMER, attributes=attrs)

    def deliver(self, process: Span, url: str, headers: Headers) -> tuple[Span, Headers]:
        """A CLIENT span for one HTTP POST of the event; the headers to send with it."""
        u = urlsplit(url)
        attrs: dict[str, Any] = {"http.request.method": "POST", "url.full": url}
        if u.hostname:
            attrs["server.address"] = u.hostname
            port = u.port or {"http": 80, "https": 443}.get(u.scheme)
            if port:
                attrs["server.port"] = port
        span = self.tracer.start_span("POST", context=trace.set_span_in_context(process),
                                      kind=SpanKind.CLIENT, attributes=attrs)
        return span, _with_context(headers, span)

    def delivered(self, span: Span, status: int | None, error: str) -> None:
        """End a delivery span with what the receiver answered (None: no response)."""
        if status is not None:
            span.set_attribute("http.response.status_code", status)
        if status is None:
            otelcore.end(span, error.split("(", 1)[0] or "no response")
        else:
            otelcore.end(span, str(status) if status >= 400 else "")

    def processed(self, span: Span, outcome: str = "") -> None:
        """End a process span; `outcome` names a failure (retry, dead-letter, drop)."""
        otelcore.end(span, outcome)

    def shutdown(self) -> None:
        self.provider.shutdown()
