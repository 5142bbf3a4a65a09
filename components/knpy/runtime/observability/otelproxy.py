"""The OpenTelemetry side of request tracing: one SERVER span per proxied request.

Loaded only through `tracing.proxy_tracer` when tracing is on. The proxy core calls
`start(ex)` once the request head is parsed (before the component's handler, so routing
headers the activator strips are still there) and `end(ex, span)` when the exchange ends.
Spans follow the OTel HTTP server conventions; `traceparent`/`tracestate` are replaced by
the new span's context for the next hop, and `baggage` passes through unchanged.
"""

from __future__ import annotations

import re
from binascii import hexlify
from random import getrandbits
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace.export import SpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from knpy.runtime.observability import otelcore
from knpy.runtime.observability.tracing import TracingSettings

_PROPAGATOR = TraceContextTextMapPropagator()
# OTel semconv: span names carry a method only if it is a known one, else "HTTP"
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS",
                            "TRACE", "PATCH", "QUERY"})
_KUBE_PROBE = b"kube-probe/"
_NAMESPACE = b"knative-serving-namespace"
_REVISION = b"knative-serving-revision"
# a valid version-00 traceparent whose sampled flag is off (all-zero ids are invalid)
_NONZERO_IDS = (1 << 64) | 1
_UNSAMPLED = re.compile(rb"00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f][02468ace]"
                        ).fullmatch


class ExchangeTracer:
    """Per-process tracer provider plus the two per-request calls of the proxy core."""

    def __init__(self, s: TracingSettings, attributes: dict[str, str],
                 exporter: SpanExporter | None = None) -> None:
        self.provider = otelcore.provider(s, exporter)
        self.tracer = self.provider.get_tracer("knpy.runtime.proxy")
        self.attributes = attributes
        self.never = s.sampling_rate == 0  # root requests are never sampled

    def start(self, ex: Any) -> None:
        if ex.probe or ex.kubelet_probe or ex.user_agent.startswith(_KUBE_PROBE):
            return  # health checks are not traffic
        # The common cases skip the SDK, for a fraction of its cost, where ParentBased
        # sampling surely drops the request: a new unsampled context is passed on, as the
        # SDK's non-recording span would be (tests/unit/observability/test_proxy_tracer.py).
        tp = ex.traceparent  # the core notes the line as it parses the head
        if tp is None:  # no parent
            if self.never:
                # 128 + 64 random bits, the low bit of each id set (never all-zero, which
                # W3C makes invalid); hexlify puts the "-" between them
                ids = hexlify((getrandbits(192) | _NONZERO_IDS).to_bytes(24), b"-", -16)
                ex.lines.append(b"traceparent: 00-" + ids + b"-00\r\n")
                return
            self._span(ex, None)
            return
        if tp:  # b"": repeated, the SDK decides from the first
            # "traceparent: <55 bytes>\r\n" as the core keeps it; else strip
            parent = tp[13:68] if len(tp) == 70 else tp[12:].strip()
            if _UNSAMPLED(parent) is not None:  # keep its trace, a new parent id
                lines = ex.lines
                try:
                    at = lines.index(tp)
                except ValueError:  # dropped since (a Connection header named it)
                    at = -1
                if at >= 0:
                    lines[at] = (b"traceparent: " + parent[:36]
                                 + hexlify((getrandbits(64) | 1).to_bytes(8)) + b"-00\r\n")
                    return
        self._span(ex, ex.header(b"traceparent"))

    def _span(self, ex: Any, parent: bytes | None) -> None:
        """A SERVER span through the SDK (it samples); the next hop gets its context."""
        carrier: dict[str, str] = {}
        if parent is not None:
            carrier["traceparent"] = parent.decode("latin-1")
            state = ex.header(b"tracestate")
            if state is not None:
                carrier["tracestate"] = state.decode("latin-1")
        ctx = _PROPAGATOR.extract(carrier)
        method = ex.method.decode("latin-1")
        target = ex.url.decode("latin-1")
        path, _, query = target.partition("?")
        attrs: dict[str, Any] = {"http.request.method": method, "url.path": path,
                                 "url.scheme": "http", **self.attributes}
        if query:
            attrs["url.query"] = query
        if ex.host:
            authority = ex.host.decode("latin-1")
            host, sep, port = authority.rpartition(":")
            if sep and port.isdigit() and (not host.startswith("[") or host.endswith("]")):
                attrs["server.address"] = host
                attrs["server.port"] = int(port)
            else:
                attrs["server.address"] = authority
        if ex.peer:
            attrs["client.address"] = ex.peer.decode("latin-1")
        if ex.user_agent:
            attrs["user_agent.original"] = ex.user_agent.decode("latin-1")
        ns = ex.header(_NAMESPACE)
        if ns is not None:
            attrs["k8s.namespace.name"] = ns.decode("latin-1")
        rev = ex.header(_REVISION)
        if rev is not None:
            attrs["knative.revision.name"] = rev.decode("latin-1")
        span = self.tracer.start_span(method if method in _KNOWN_METHODS else "HTTP",
                                      context=ctx, kind=SpanKind.SERVER, attributes=attrs)
        out: dict[str, str] = {}
        _PROPAGATOR.inject(out, context=trace.set_span_in_context(span, ctx))
        ex.set_header(b"traceparent", out["traceparent"].encode("latin-1"))
        if "tracestate" in out:
            ex.set_header(b"tracestate", out["tracestate"].encode("latin-1"))
        ex.span = span

    def end(self, ex: Any, span: Any) -> None:
        if ex.status:
            span.set_attribute("http.response.status_code", ex.status)
        if ex.status >= 500 or ex.error:
            span.set_attribute("error.type", ex.error or str(ex.status))
            span.set_status(StatusCode.ERROR)
        span.end()

    def shutdown(self) -> None:
        self.provider.shutdown()
