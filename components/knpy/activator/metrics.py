"""Prometheus metrics of the activator (`GET /metrics` on --metrics-port, Knative's 9090).

Per revision, labelled `namespace_name` and `revision_name` as Knative's activator labels
them: `activator_request_duration_seconds` (a histogram by response code class; Knative's
`activator_request_latencies` in Prometheus's base unit) and `activator_request_count`
(Knative's name: the histogram's count), and gauges for requests being handled (held or
forwarded), requests held waiting for capacity, known and assigned pods, and this
activator's capacity for the revision (-1 = unlimited). `activator_announcements_total`
counts pods' announcements (announce.py) by `result`. Rendered on demand from the
throttlers, so a revision that goes away takes its series with it; the request path only
observes one histogram per response (ActivatorHandler._done).
"""

from __future__ import annotations

from knpy.activator.throttler import RevisionThrottler
from knpy.runtime.observability.metrics import CODE_CLASSES, Registry, Sample

_REV = ("namespace_name", "revision_name")
_BY_CLASS = (*_REV, "response_code_class")
_GAUGES = (
    ("activator_request_concurrency", "Requests being handled (held or forwarded)"),
    ("activator_requests_pending", "Requests held waiting for a pod slot"),
    ("activator_pods", "Backends known for the revision"),
    ("activator_assigned_pods", "Probed backends in this activator's subset"),
    ("activator_capacity", "Concurrent requests this activator may send (-1: unlimited)"),
)


def render(revisions: dict[bytes, RevisionThrottler],
           announcements: dict[str, int] | None = None) -> bytes:
    rts = sorted(revisions.values(), key=lambda r: r.key)
    keys = [tuple(rt.key.split("/", 1)) for rt in rts]
    rows = [_gauges(rt) for rt in rts]
    reg = Registry()
    for i, (gauge, help_text) in enumerate(_GAUGES):
        column: list[Sample] = [(k, row[i]) for k, row in zip(keys, rows, strict=True)]
        reg.collected(gauge, "gauge", help_text, _REV, column.copy)
    durations = reg.histogram("activator_request_duration_seconds",
                              "Time from request head to response end", _BY_CLASS)
    counts: list[Sample] = []
    for k, rt in zip(keys, rts, strict=True):
        for cls, h in zip(CODE_CLASSES, rt.latency[1:], strict=True):
            durations.attach(h, *k, cls)
            counts.append(((*k, cls), h.count))
    reg.collected("activator_request_count", "counter",
                  "Requests answered (Knative's name; the histogram's _count)", _BY_CLASS,
                  counts.copy)
    if announcements is not None:
        results: list[Sample] = [((r,), n) for r, n in sorted(announcements.items())]
        reg.collected("activator_announcements_total", "counter",
                      "Pods' announcements by result (accepted, forbidden, unknown, invalid)",
                      ("result",), results.copy)
    return reg.render()


def _gauges(rt: RevisionThrottler) -> tuple[float, ...]:
    st = rt.stats
    return (st.concurrency if st is not None else 0.0, rt.pending, len(rt.trackers),
            len(rt.assigned), rt.capacity)
