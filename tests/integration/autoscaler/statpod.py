"""A stand-in pod for autoscaler tests: serves requests and reports Knative Stats.

    python -m tests.integration.autoscaler.statpod

Env (queue-proxy names): QUEUE_SERVING_PORT, QUEUE_METRICS_PORT, SERVING_POD.
STATPOD_CONCURRENCY=x reports a constant concurrency instead of measuring it.

Serving port: `K-Network-Probe: queue` -> 200 "queue"; `GET /sleep?ms=N` sleeps N ms.
Metrics port: `GET /metrics` -> protobuf Stat with the time-weighted in-flight average and
the request count of the last second, as the queue-proxy reports them.
"""

from __future__ import annotations

import asyncio
import os
import time

from aiohttp import web

from knpy.runtime.contract.stat import CONTENT_TYPE, Stat, encode_stat


class Meter:
    def __init__(self) -> None:
        self.inflight = 0
        self.area = 0.0           # in-flight x seconds since the last report
        self.count = 0
        self.changed = self.report_at = self.started = time.monotonic()

    def _advance(self) -> None:
        now = time.monotonic()
        self.area += self.inflight * (now - self.changed)
        self.changed = now

    def begin(self) -> None:
        self._advance()
        self.inflight += 1
        self.count += 1

    def end(self) -> None:
        self._advance()
        self.inflight -= 1

    def report(self) -> tuple[float, float]:
        self._advance()
        now = time.monotonic()
        span = max(now - self.report_at, 1e-3)
        out = (self.area / span, float(self.count))
        self.area, self.count, self.report_at = 0.0, 0, now
        return out


async def main() -> None:
    pod = os.environ.get("SERVING_POD", "statpod")
    fixed = os.environ.get("STATPOD_CONCURRENCY")
    meter = Meter()

    async def serve(request: web.Request) -> web.Response:
        if request.headers.get("K-Network-Probe") == "queue":
            return web.Response(text="queue")
        meter.begin()
        try:
            await asyncio.sleep(int(request.query.get("ms", "0")) / 1000)
            return web.Response(text=pod)
        finally:
            meter.end()

    async def metrics(_: web.Request) -> web.Response:
        concurrency, count = meter.report()
        if fixed is not None:
            concurrency = float(fixed)
        stat = Stat(pod_name=pod, average_concurrent_requests=concurrency,
                    request_count=count, process_uptime=time.monotonic() - meter.started,
                    timestamp=int(time.time()))
        return web.Response(body=encode_stat(stat), content_type=CONTENT_TYPE)

    serving = web.Application()
    serving.router.add_route("*", "/{tail:.*}", serve)
    scrape = web.Application()
    scrape.router.add_get("/metrics", metrics)
    runners = []
    for app, port in ((serving, os.environ["QUEUE_SERVING_PORT"]),
                      (scrape, os.environ.get("QUEUE_METRICS_PORT", "9090"))):
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", int(port)).start()
        runners.append(runner)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    import signal
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for runner in runners:
        await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
