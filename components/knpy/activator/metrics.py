"""Prometheus metrics of the activator (`GET /metrics` on --metrics-port, Knative's 9090).

Per revision, labelled `namespace_name` and `revision_name` as Knative's activator labels
them: requests by response code class (a counter), and gauges for requests being handled
(held or forwarded), requests held waiting for capacity, known and assigned pods, and this
activator's capacity for the revision (-1 = unlimited). Rendered on demand from the
throttlers; the request path only bumps one list slot per response.
"""

from __future__ import annotations

from knpy.activator.throttler import RevisionThrottler
from knpy.runtime.proxy import Exchange, http

_PROM = b"text/plain; version=0.0.4; charset=utf-8"
_NOT_FOUND = http.error_response(404, "404 page not found")

_GAUGES = (
    ("activator_request_concurrency", "Requests being handled (held or forwarded)"),
    ("activator_requests_pending", "Requests held waiting for a pod slot"),
    ("activator_pods", "Backends known for the revision"),
    ("activator_assigned_pods", "Probed backends in this activator's subset"),
    ("activator_capacity", "Concurrent requests this activator may send (-1: unlimited)"),
)


def render(revisions: dict[bytes, RevisionThrottler]) -> bytes:
    rows: dict[str, list[str]] = {name: [] for name, _ in _GAUGES}
    counts: list[str] = []
    for rt in sorted(revisions.values(), key=lambda r: r.key):
        ns, _, name = rt.key.partition("/")
        lb = f'namespace_name="{ns}",revision_name="{name}"'
        st = rt.stats
        values = (st.concurrency if st is not None else 0.0,
                  rt.pending, len(rt.trackers), len(rt.assigned), rt.capacity)
        for (gauge, _), v in zip(_GAUGES, values, strict=True):
            rows[gauge].append(f"{gauge}{{{lb}}} {float(v):g}")
        for cls in range(1, 6):
            counts.append(f'activator_request_count{{{lb},response_code_class="{cls}xx"}} '
                          f"{rt.responses[cls]}")
    lines = []
    for gauge, help_text in _GAUGES:
        lines += [f"# HELP {gauge} {help_text}", f"# TYPE {gauge} gauge", *rows[gauge]]
    lines += ["# HELP activator_request_count Requests answered, by response code class",
              "# TYPE activator_request_count counter", *counts]
    return ("\n".join(lines) + "\n").encode()


class MetricsHandler:
    """A proxy-core Handler for the metrics port."""

    def __init__(self, revisions: dict[bytes, RevisionThrottler]) -> None:
        self.revisions = revisions

    def handle(self, ex: Exchange) -> None:
        if ex.path() != b"/metrics":
            ex.respond_raw(_NOT_FOUND)
            return
        ex.reply(200, render(self.revisions), content_type=_PROM)
