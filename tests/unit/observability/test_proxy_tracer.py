"""The proxy core's tracer (otelproxy.ExchangeTracer) on one request head: which requests
get a span, what `traceparent` the next hop sees, and the shortcut for requests that
ParentBased sampling surely drops (no SDK call, a new unsampled context)."""

from __future__ import annotations

import re

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from knpy.runtime.observability.otelproxy import ExchangeTracer
from knpy.runtime.observability.tracing import TracingSettings
from knpy.runtime.proxy.exchange import Exchange

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
W3C = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")


class Head:
    """The part of `runtime.proxy.Exchange` the tracer reads and writes."""

    def __init__(self, *lines: bytes, user_agent: bytes = b"") -> None:
        self.lines = [b"Host: h.example.com:8012\r\n", *lines]
        # as the core's header callback notes it: the line, b"" if repeated
        found = [ln for ln in lines if ln.lower().startswith(b"traceparent:")]
        self.traceparent = found[0] if len(found) == 1 else b"" if found else None
        self.probe = b""
        self.kubelet_probe = False
        self.user_agent = user_agent
        self.method, self.url = b"GET", b"/p?q=1"
        self.host, self.peer = b"h.example.com:8012", b"10.0.0.9"
        self.span = None
        self.status, self.error = 200, ""

    # the core's own header access, which reads and writes `lines` only
    header = Exchange.header
    set_header = Exchange.set_header

    def traceparents(self) -> list[tuple[str, str, str]]:
        out = []
        for ln in self.lines:
            k, _, v = ln.decode().partition(":")
            if k.strip().lower() == "traceparent":
                m = W3C.fullmatch(v.strip())
                assert m, v
                out.append((m[1], m[2], m[3]))
        return out


def tracer(rate: float) -> tuple[ExchangeTracer, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    return ExchangeTracer(TracingSettings("stdout", "", rate, "t"), {}, exporter), exporter


def run(t: ExchangeTracer, head: Head) -> Head:
    t.start(head)
    if head.span is not None:
        t.end(head, head.span)
    return head


def test_rate0_without_parent_starts_an_unsampled_trace_without_a_span() -> None:
    t, spans = tracer(0.0)
    ((trace, parent, flags),) = run(t, Head(b"Accept: */*\r\n")).traceparents()
    assert flags == "00" and trace != "0" * 32 and parent != "0" * 16
    ((trace2, _, _),) = run(t, Head()).traceparents()
    assert trace2 != trace  # a new trace per request
    assert spans.get_finished_spans() == ()


@pytest.mark.parametrize(("name", "space"), [(b"traceparent", b" "), (b"TraceParent", b" "),
                                             (b"traceparent", b""), (b"traceparent", b"  ")])
def test_unsampled_parent_keeps_its_trace_with_a_new_parent_id(name: bytes, space: bytes
                                                                ) -> None:
    t, spans = tracer(1.0)  # the parent's decision wins over the rate
    head = run(t, Head(b"%s:%s00-%s-%s-00\r\n" % (name, space, TRACE.encode(),
                                                   PARENT.encode())))
    ((trace, parent, flags),) = head.traceparents()
    assert (trace, flags) == (TRACE, "00") and parent not in (PARENT, "0" * 16)
    assert spans.get_finished_spans() == ()


def test_sampled_parent_gets_a_server_span_and_the_next_hop_its_context() -> None:
    t, spans = tracer(0.0)
    head = run(t, Head(b"traceparent: 00-%s-%s-01\r\n" % (TRACE.encode(), PARENT.encode()),
                       b"tracestate: k=v\r\n"))
    (span,) = spans.get_finished_spans()
    assert f"{span.context.trace_id:032x}" == TRACE
    assert span.parent is not None and f"{span.parent.span_id:016x}" == PARENT
    assert head.traceparents() == [(TRACE, f"{span.context.span_id:016x}", "01")]
    assert head.header(b"tracestate") == b"k=v"
    assert span.name == "GET" and span.attributes["url.query"] == "q=1"


@pytest.mark.parametrize("value", [
    f"00-{'0' * 32}-{PARENT}-00",  # invalid trace id
    f"00-{TRACE}-{'0' * 16}-00",  # invalid parent id
    f"00-{TRACE.upper()}-{PARENT}-00",  # upper-case hex is invalid
    "garbage",
])
def test_an_invalid_parent_is_a_root_to_the_sdk(value: str) -> None:
    t, spans = tracer(1.0)
    head = run(t, Head(b"traceparent: " + value.encode() + b"\r\n"))
    (span,) = spans.get_finished_spans()
    assert span.parent is None
    ((trace, parent, flags),) = head.traceparents()
    assert (trace, parent) == (f"{span.context.trace_id:032x}", f"{span.context.span_id:016x}")
    assert int(flags, 16) & 1  # sampled (the SDK also sets W3C's random-trace-id flag)


def test_repeated_traceparent_is_left_to_the_sdk() -> None:
    t, spans = tracer(0.0)
    line = b"traceparent: 00-%s-%s-00\r\n" % (TRACE.encode(), PARENT.encode())
    head = run(t, Head(line, line))
    assert len(head.traceparents()) == 1 and head.traceparents()[0][2] == "00"
    assert spans.get_finished_spans() == ()


def test_probes_are_not_traced() -> None:
    t, spans = tracer(1.0)
    head = Head(user_agent=b"kube-probe/1.30")
    run(t, head)
    assert head.traceparents() == [] and spans.get_finished_spans() == ()
