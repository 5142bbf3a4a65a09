"""The activator's Prometheus endpoint after real requests through activator -> queue-proxy
-> user app, all real processes on loopback."""

from __future__ import annotations

import aiohttp

from tests.integration.activator.conftest import ROUTE, Stack, get, until_status
from tests.support.prom import scrape, value

REV = {"namespace_name": "default", "revision_name": "hello"}


async def test_requests_counted_and_timed_by_code_class(stack: Stack) -> None:
    app = stack.user_app()
    qp = stack.queue_proxy(app)
    port, _ = stack.activator("--revision", "default/hello", "--backend", f"127.0.0.1:{qp}")
    base = f"http://127.0.0.1:{port}"
    url = f"http://127.0.0.1:{stack.metrics_port}/metrics"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as s:
        await until_status(s, base + "/", 200, 10)
        before = await scrape(s, url)
        for path, n in (("/", 3), ("/status/404", 2), ("/status/502", 1)):
            for _ in range(n):
                await get(s, base + path, ROUTE)
        assert (await get(s, base + "/", {"K-Network-Probe": "activator"}))[0] == 200
        after = await scrape(s, url)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **REV, **labels) - value(before, name, **REV, **labels)

    for cls, n in (("2xx", 3), ("4xx", 2), ("5xx", 1), ("3xx", 0)):
        assert moved("activator_request_count", response_code_class=cls) == n, cls
        assert moved("activator_request_duration_seconds_count", response_code_class=cls) == n
        assert moved("activator_request_duration_seconds_bucket", response_code_class=cls,
                     le="+Inf") == n
    assert moved("activator_request_duration_seconds_sum", response_code_class="2xx") > 0
    assert value(after, "activator_assigned_pods", **REV) == 1
