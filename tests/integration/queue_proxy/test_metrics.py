"""The queue-proxy's Prometheus endpoint (:9091) after real requests through the process."""

from __future__ import annotations

import aiohttp

from tests.integration.queue_proxy.conftest import QueueProxy
from tests.support.prom import scrape, value

TIMEOUT = aiohttp.ClientTimeout(total=20)
REV = {"namespace_name": "default", "configuration_name": "hello",
       "revision_name": "hello-00001", "pod_name": "hello-00001-deployment-abc"}


async def test_requests_counted_and_timed_by_code_class(qp: QueueProxy) -> None:
    url = f"http://127.0.0.1:{qp.user_metrics_port}/metrics"
    async with aiohttp.ClientSession(timeout=TIMEOUT) as s:
        before = await scrape(s, url)
        for path, n in (("/", 3), ("/status/404", 2), ("/status/503", 1), ("/sleep?ms=600", 1)):
            for _ in range(n):
                async with s.get(qp.url + path) as r:
                    await r.read()
        async with s.get(qp.url + "/", headers={"K-Network-Probe": "queue"}) as r:
            assert r.status == 200  # a probe: not a request
        after = await scrape(s, url)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **REV, **labels) - value(before, name, **REV, **labels)

    assert moved("revision_request_count", response_code_class="2xx") == 4
    assert moved("revision_request_count", response_code_class="4xx") == 2
    assert moved("revision_request_count", response_code_class="5xx") == 1
    assert moved("revision_request_duration_seconds_count", response_code_class="2xx") == 4
    assert moved("revision_request_duration_seconds_count", response_code_class="4xx") == 2
    # the 600 ms request is above the 0.5 s bucket, the others (local, tiny) below it
    assert moved("revision_request_duration_seconds_bucket", response_code_class="2xx",
                 le="0.5") == 3
    assert moved("revision_request_duration_seconds_bucket", response_code_class="2xx",
                 le="+Inf") == 4
    assert moved("revision_request_duration_seconds_sum", response_code_class="2xx") >= 0.6
