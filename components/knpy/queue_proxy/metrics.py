"""The queue-proxy's reports: the protobuf `Stat` for the autoscaler (:9090) and Prometheus
text (:9091), refreshed once a second from the request stats, as Knative's reporters are.

Prometheus (docs/observability.md): Knative's `queue_*` gauges (labels `destination_*`)
and `revision_request_count` (Knative's name and labels), plus
`revision_request_duration_seconds`, a histogram by response code class that the request
path fills (QueueHandler.latency); Knative's `revision_request_latencies` is the same in
milliseconds, this one is in Prometheus's base unit.
"""

from __future__ import annotations

import asyncio

from knpy.queue_proxy.config import Config
from knpy.runtime.contract.stat import CONTENT_TYPE, Stat, encode_stat
from knpy.runtime.hotpath.breaker import Breaker
from knpy.runtime.hotpath.reqstats import RequestStats
from knpy.runtime.observability.metrics import CODE_CLASSES, Histogram, Registry, Sample
from knpy.runtime.proxy import Exchange, http
from knpy.runtime.proxy.metrics import PROM_CONTENT_TYPE

REPORTING_PERIOD = 1.0
_PROTOBUF = CONTENT_TYPE.encode()
_NOT_FOUND = http.error_response(404, "404 page not found")
_DESTINATION = ("destination_namespace", "destination_configuration", "destination_revision",
                "destination_pod")
_REVISION = ("namespace_name", "service_name", "configuration_name", "revision_name",
             "pod_name", "response_code_class")


class Reporter:
    """Turns RequestStats into a Stat every REPORTING_PERIOD seconds."""

    def __init__(self, cfg: Config, stats: RequestStats, breaker: Breaker | None,
                 latency: list[Histogram], started: float) -> None:
        self.cfg = cfg
        self.stats = stats
        self.breaker = breaker
        self.started = started  # loop.time() at process start
        self.stat = Stat(pod_name=cfg.pod)
        self.encoded = encode_stat(self.stat)
        self._task: asyncio.Task[None] | None = None
        self.registry = self._registry(latency)

    def _registry(self, latency: list[Histogram]) -> Registry:
        cfg, reg = self.cfg, Registry()
        dest = (cfg.namespace, cfg.configuration, cfg.revision, cfg.pod)

        def gauge(name: str, help_text: str, attr: str) -> None:
            reg.collected(name, "gauge", help_text, _DESTINATION,
                          lambda: [(dest, getattr(self.stat, attr))])

        gauge("queue_requests_per_second", "Requests per second, last reporting period",
              "request_count")
        gauge("queue_proxied_operations_per_second",
              "Requests via the activator per second, last reporting period",
              "proxied_request_count")
        gauge("queue_average_concurrent_requests", "Average concurrent requests",
              "average_concurrent_requests")
        gauge("queue_average_proxied_concurrent_requests",
              "Average concurrent requests via the activator",
              "average_proxied_concurrent_requests")
        gauge("process_uptime", "Seconds since the queue-proxy started", "process_uptime")
        rev = (cfg.namespace, cfg.service, cfg.configuration, cfg.revision, cfg.pod)
        by_class = latency[1:6]
        durations = reg.histogram("revision_request_duration_seconds",
                                  "Time from request head to response end", _REVISION)
        for cls, h in zip(CODE_CLASSES, by_class, strict=True):
            durations.attach(h, *rev, cls)

        def counts() -> list[Sample]:
            return [((*rev, cls), h.count) for cls, h in zip(CODE_CLASSES, by_class,
                                                              strict=True)]

        reg.collected("revision_request_count", "counter",
                      "Requests answered (Knative's name; the histogram's _count)",
                      _REVISION, counts)
        breaker = self.breaker
        if breaker is not None:
            reg.collected("queue_depth", "gauge", "Requests waiting for a breaker slot",
                          _DESTINATION, lambda: [(dest, breaker.pending)])
            reg.collected("queue_inflight_requests", "gauge",
                          "Requests holding a breaker slot", _DESTINATION,
                          lambda: [(dest, breaker.inflight)])
        return reg

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(REPORTING_PERIOD)
            self.report(loop.time())

    def report(self, now: float) -> Stat:
        avg, pavg, count, pcount = self.stats.report(now)
        self.stat = Stat(
            pod_name=self.cfg.pod,
            average_concurrent_requests=avg,
            average_proxied_concurrent_requests=pavg,
            request_count=count / REPORTING_PERIOD,
            proxied_request_count=pcount / REPORTING_PERIOD,
            process_uptime=now - self.started,
            # Knative's queue-proxy leaves timestamp unset (the scraper stamps its own time),
            # so the bytes match Go's for the same figures.
        )
        self.encoded = encode_stat(self.stat)
        return self.stat

    def prometheus(self) -> bytes:
        return self.registry.render()


class StatHandler:
    """:9090 — GET /metrics gives the protobuf Stat (Prometheus text if Accept asks for it)."""

    def __init__(self, reporter: Reporter) -> None:
        self.reporter = reporter

    def handle(self, ex: Exchange) -> None:
        if ex.path() != b"/metrics":
            ex.respond_raw(_NOT_FOUND)
            return
        accept = ex.header(b"accept") or b""
        if b"text/plain" in accept and b"protobuf" not in accept:
            ex.reply(200, self.reporter.prometheus(), content_type=PROM_CONTENT_TYPE)
        else:
            ex.reply(200, self.reporter.encoded, content_type=_PROTOBUF)
