"""The queue-proxy's reports: the protobuf `Stat` for the autoscaler (:9090) and Prometheus
text (:9091), refreshed once a second from the request stats, as Knative's reporters are."""

from __future__ import annotations

import asyncio

from knpy.queue_proxy.config import Config
from knpy.runtime.contract.stat import CONTENT_TYPE, Stat, encode_stat
from knpy.runtime.hotpath.breaker import Breaker
from knpy.runtime.hotpath.reqstats import RequestStats
from knpy.runtime.proxy import Exchange, http

REPORTING_PERIOD = 1.0
_PROTOBUF = CONTENT_TYPE.encode()
_PROM = b"text/plain; version=0.0.4; charset=utf-8"
_NOT_FOUND = http.error_response(404, "404 page not found")


class Reporter:
    """Turns RequestStats into a Stat every REPORTING_PERIOD seconds."""

    def __init__(self, cfg: Config, stats: RequestStats, breaker: Breaker | None,
                 by_class: list[int], started: float) -> None:
        self.cfg = cfg
        self.stats = stats
        self.breaker = breaker
        self.by_class = by_class
        self.started = started  # loop.time() at process start
        self.stat = Stat(pod_name=cfg.pod)
        self.encoded = encode_stat(self.stat)
        self._task: asyncio.Task[None] | None = None
        labels = (f'destination_namespace="{cfg.namespace}",destination_configuration='
                  f'"{cfg.configuration}",destination_revision="{cfg.revision}",'
                  f'destination_pod="{cfg.pod}"')
        self.labels = labels

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
        s, lb = self.stat, self.labels
        lines = [
            "# TYPE queue_requests_per_second gauge",
            f"queue_requests_per_second{{{lb}}} {s.request_count}",
            "# TYPE queue_proxied_operations_per_second gauge",
            f"queue_proxied_operations_per_second{{{lb}}} {s.proxied_request_count}",
            "# TYPE queue_average_concurrent_requests gauge",
            f"queue_average_concurrent_requests{{{lb}}} {s.average_concurrent_requests}",
            "# TYPE queue_average_proxied_concurrent_requests gauge",
            f"queue_average_proxied_concurrent_requests{{{lb}}} "
            f"{s.average_proxied_concurrent_requests}",
            "# TYPE process_uptime gauge",
            f"process_uptime{{{lb}}} {s.process_uptime}",
            "# TYPE revision_request_count counter",
        ]
        for cls in range(1, 6):
            lines.append(f'revision_request_count{{{lb},response_code_class="{cls}xx"}} '
                         f"{self.by_class[cls]}")
        if self.breaker is not None:
            lines += ["# TYPE queue_depth gauge",
                      f"queue_depth{{{lb}}} {self.breaker.pending}",
                      "# TYPE queue_inflight_requests gauge",
                      f"queue_inflight_requests{{{lb}}} {self.breaker.inflight}"]
        return ("\n".join(lines) + "\n").encode()


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
            ex.reply(200, self.reporter.prometheus(), content_type=_PROM)
        else:
            ex.reply(200, self.reporter.encoded, content_type=_PROTOBUF)


class PrometheusHandler:
    """:9091 — GET /metrics gives Prometheus text."""

    def __init__(self, reporter: Reporter) -> None:
        self.reporter = reporter

    def handle(self, ex: Exchange) -> None:
        if ex.path() != b"/metrics":
            ex.respond_raw(_NOT_FOUND)
            return
        ex.reply(200, self.reporter.prometheus(), content_type=_PROM)
