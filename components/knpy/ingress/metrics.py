"""The gateway's Prometheus metrics (docs/observability.md), served on the probe port.

Per routed Service (a split's `serviceNamespace`/`serviceName`: for Knative, a revision's
or the activator's Service) and response code class: `ingress_request_duration_seconds`, a
histogram from request head to response end, and `ingress_requests_total`, its count.
Requests no rule routes (unknown host or path, every split at 0%) are counted with empty
`namespace` and `service`. The request path does one dict lookup and, at the end, one
histogram observation; the series of a Service stay until the process exits (bounded by
the Services the gateway ever routed to).
"""

from __future__ import annotations

from collections.abc import Callable

from knpy.runtime.observability.metrics import (
    CODE_CLASSES,
    Registry,
    Sample,
    class_histograms,
)
from knpy.runtime.proxy import Exchange

__all__ = ["GatewayMetrics", "Route"]

_LABELS = ("namespace", "service", "response_code_class")


class Route:
    """One Service's histograms and its bound `on_done` (made once, not per request)."""

    __slots__ = ("clock", "done", "latency")

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.latency = class_histograms()
        self.done = self._done

    def _done(self, ex: Exchange) -> None:
        self.latency[min(ex.status // 100, 5)].observe(self.clock() - ex.t0)


class GatewayMetrics:
    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.routes: dict[tuple[str, str], Route] = {}
        self.registry = reg = Registry()
        self.durations = reg.histogram("ingress_request_duration_seconds",
                                       "Time from request head to response end", _LABELS)
        reg.collected("ingress_requests_total", "counter", "Requests answered", _LABELS,
                      self._counts)
        self.unrouted = self.route("", "")

    def route(self, namespace: str, service: str) -> Route:
        key = (namespace, service)
        r = self.routes.get(key)
        if r is None:
            r = self.routes[key] = Route(self.clock)
            for cls, h in zip(CODE_CLASSES, r.latency[1:], strict=True):
                self.durations.attach(h, namespace, service, cls)
        return r

    def _counts(self) -> list[Sample]:
        return [((*key, cls), h.count) for key, r in sorted(self.routes.items())
                for cls, h in zip(CODE_CLASSES, r.latency[1:], strict=True)]

    def render(self) -> bytes:
        return self.registry.render()

