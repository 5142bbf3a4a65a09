"""The concurrency reporter: immediate poke, per-second reports, idle revisions dropped."""

from __future__ import annotations

from knpy.activator.stats import ConcurrencyReporter
from knpy.activator.throttler import RevisionThrottler
from knpy.runtime.contract.wirestat import decode_wire_stats


def reporter() -> tuple[ConcurrencyReporter, list[bytes]]:
    frames: list[bytes] = []
    return ConcurrencyReporter("activator-0", frames.append, lambda: 0.0), frames


def test_first_request_pokes_at_once_then_reports_each_second() -> None:
    rep, frames = reporter()
    rt = RevisionThrottler("ns/rev")
    rep.request_in(rt, 10.0)
    assert len(frames) == 1
    [poke] = decode_wire_stats(frames[0])
    assert (poke.namespace, poke.name) == ("ns", "rev")
    assert poke.stat.pod_name == "activator-0"
    assert poke.stat.average_concurrent_requests == 1.0 and poke.stat.request_count == 1.0
    rep.request_in(rt, 10.5)  # a second request: no new poke
    assert len(frames) == 1
    rep.request_out(rt, 10.5)
    [msg] = decode_wire_stats(rep.report(11.0))
    # in flight: 1 over [10, 10.5), 2 over [10.5, 10.5], 1 over [10.5, 11] -> 1.0 average
    assert msg.stat.average_concurrent_requests == 1.0
    assert msg.stat.request_count == 1.0  # 2 arrived, the first was in the poke
    assert msg.stat.average_proxied_concurrent_requests == 0.0


def test_idle_revision_is_dropped_and_pokes_again() -> None:
    rep, frames = reporter()
    rt = RevisionThrottler("ns/rev")
    rep.request_in(rt, 0.0)
    rep.request_out(rt, 0.1)
    rep.report(1.0)  # the first request belongs to the poke; nothing in flight now
    assert rep.report(2.0) is None and rt.stats is None
    rep.request_in(rt, 3.0)
    assert len(frames) == 2  # poked again


def test_busy_revision_keeps_reporting() -> None:
    rep, _ = reporter()
    rt = RevisionThrottler("ns/rev")
    rep.request_in(rt, 0.0)  # never finishes
    for t in (1.0, 2.0, 3.0):
        [msg] = decode_wire_stats(rep.report(t))
        assert msg.stat.average_concurrent_requests == 1.0
    assert "ns/rev" in rep.active


class Request:
    """The headers of the request behind a poke (as the proxy core's Exchange has them)."""

    def __init__(self, **headers: bytes) -> None:
        self.headers = headers

    def header(self, name: bytes) -> bytes | None:
        return self.headers.get(name.decode())


def test_the_poke_carries_the_requests_trace_context_and_reports_do_not() -> None:
    rep, frames = reporter()
    rt = RevisionThrottler("ns/rev")
    parent = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    rep.request_in(rt, 0.0, Request(traceparent=parent, tracestate=b"k=v"))
    [poke] = decode_wire_stats(frames[0])
    assert (poke.traceparent, poke.tracestate) == (parent.decode(), "k=v")
    rep.request_in(rt, 0.5, Request(traceparent=b"00-other"))  # not a poke: not read
    [msg] = decode_wire_stats(rep.report(1.0))
    assert (msg.traceparent, msg.tracestate) == ("", "")
    rep2, frames2 = reporter()
    rep2.request_in(RevisionThrottler("ns/rev"), 0.0, Request())  # no context: none sent
    [bare] = decode_wire_stats(frames2[0])
    assert (bare.traceparent, bare.tracestate) == ("", "")
