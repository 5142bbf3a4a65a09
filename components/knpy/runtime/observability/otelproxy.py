"""The OpenTelemetry side of request tracing: one SERVER span per proxied request.

Loaded only through `tracing.proxy_tracer` when tracing is on. The proxy core calls
`start(ex)` once the request head is parsed (before the component's handler, so routing
headers the activator strips are still there) and `end(ex, span)` when the exchange ends.
Spans follow the OTel HTTP server conventions; `traceparent`/`tracestate` are replaced by
the new span's context for the next hop, and `baggage` passes through unchanged.
"""

from __future__ import annotations

import re
from random import getrandbits
from typing import Any

from opentelemetry import trace
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
_TRACEPARENT = re.compile(rb"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_T = b"tT"
_ZERO_TRACE = b"0" * 32
_ZERO_SPAN = b"0" * 16


class ExchangeTracer:
    """Per-process tracer provider plus the two per-request calls of the proxy core."""

    def __init__(self, s: TracingSettings, attributes: dict[str, str]) -> None:
        self.provider = otelcore.provider(s)
        self.tracer = self.provider.get_tracer("knpy.runtime.proxy")
        self.attributes = attributes
        self.never = s.sampling_rate == 0  # root requests are never sampled

    def start(self, ex: Any) -> None:
        if ex.probe or ex.kubelet_probe or ex.user_agent.startswith(_KUBE_PROBE):
            return  # health checks are not traffic
        # one cheap pass for the traceparent line (ex.header is general and slower)
        lines = ex.lines
        at = -1
        for i, ln in enumerate(lines):
            if ln[0] in _T and ln[:12].lower() == b"traceparent:":
                if at >= 0:  # repeated: leave it to the SDK
                    at = -2
                    break
                at = i
        parent = lines[at][12:].strip() if at >= 0 else None
        if at != -2 and self._unsampled(lines, at, parent):
            return
        if at == -2:
            parent = ex.header(b"traceparent")
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

    def _unsampled(self, lines: list[bytes], at: int, parent: bytes | None) -> bool:
        """Pass a new, unsampled context on without the SDK when ParentBased sampling
        surely drops this request (what the SDK would do, for a fraction of its cost):
        its parent says not sampled, or it has none and the rate is 0."""
        if parent is None:
            if not self.never:
                return False
            trace_id = b"%032x" % (getrandbits(128) or 1)
        else:
            m = _TRACEPARENT.fullmatch(parent)
            if (m is None or int(m[3], 16) & 1 or m[1] == _ZERO_TRACE
                    or m[2] == _ZERO_SPAN):
                return False  # sampled, another version, or invalid: the SDK decides
            trace_id = m[1]
        line = b"traceparent: 00-%s-%016x-00\r\n" % (trace_id, getrandbits(64) or 1)
        if at >= 0:
            lines[at] = line
        else:
            lines.append(line)
        return True

    def end(self, ex: Any, span: Any) -> None:
        if ex.status:
            span.set_attribute("http.response.status_code", ex.status)
        if ex.status >= 500 or ex.error:
            span.set_attribute("error.type", ex.error or str(ex.status))
            span.set_status(StatusCode.ERROR)
        span.end()

    def shutdown(self) -> None:
        self.provider.shutdown()
