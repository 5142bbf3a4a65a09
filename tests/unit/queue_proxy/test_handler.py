"""QueueHandler in-process on the proxy core: stats and breaker bookkeeping stay exact when
requests are refused, queued, or abandoned by their clients."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp import web

from knpy.queue_proxy.config import ProbeSpec
from knpy.queue_proxy.drain import Drainer
from knpy.queue_proxy.handler import QueueHandler
from knpy.queue_proxy.readiness import ReadinessProber
from knpy.runtime.hotpath.breaker import Breaker
from knpy.runtime.hotpath.reqstats import RequestStats
from knpy.runtime.proxy import Server, UpstreamPool
from tests.apps.userapp import make_app
from tests.support.poll import eventually


@dataclass
class Rig:
    handler: QueueHandler
    breaker: Breaker
    stats: RequestStats
    server: Server
    port: int


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    runner = web.AppRunner(make_app(0), handle_signals=False, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    app_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    loop = asyncio.get_running_loop()
    stats = RequestStats(loop.time())
    breaker = Breaker(queue_depth=2, max_concurrency=1, initial_capacity=1)
    pool = UpstreamPool("127.0.0.1", app_port)
    handler = QueueHandler(pool, stats, breaker,
                           ReadinessProber(ProbeSpec("tcp", "127.0.0.1", app_port, period=1)),
                           Drainer(1.0), loop.time)
    server = Server(handler)
    port = await server.listen("127.0.0.1", 0)
    yield Rig(handler, breaker, stats, server, port)
    await server.close()
    pool.close()
    await runner.cleanup()


async def _send(port: int, path: str, extra: bytes = b"") -> tuple[asyncio.StreamReader,
                                                                   asyncio.StreamWriter]:
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(b"GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n" % (path.encode(), extra))
    return r, w


async def test_abandoned_queued_request_leaks_no_slot(rig: Rig) -> None:
    _r1, w1 = await _send(rig.port, "/sleep?ms=3000")
    await eventually(lambda: rig.breaker.inflight == 1, 5, "the first request running")
    _r2, w2 = await _send(rig.port, "/sleep?ms=10")  # queued behind the first
    await eventually(lambda: (rig.breaker.inflight, rig.breaker.pending) == (1, 1), 5,
                     "the second request queued")
    w2.close()  # the queued client gives up
    w1.close()  # and so does the one holding the slot
    assert await rig.server.wait_idle(3)
    assert (rig.breaker.inflight, rig.breaker.pending) == (0, 0)
    assert rig.stats.concurrency == 0
    r3, w3 = await _send(rig.port, "/")
    assert (await asyncio.wait_for(r3.readuntil(b"\r\n"), 5)).startswith(b"HTTP/1.1 200")
    w3.close()


async def test_proxied_requests_and_refusals_are_counted(rig: Rig) -> None:
    conns = [await _send(rig.port, "/sleep?ms=1000", b"K-Proxy-Request: activator\r\n")
             for _ in range(5)]  # 1 runs, 2 queue, 2 are refused
    heads = [await asyncio.wait_for(r.readuntil(b"\r\n"), 5) for r, _ in conns]
    assert sum(h.startswith(b"HTTP/1.1 503") for h in heads) == 2
    for _, w in conns:
        w.close()
    assert await rig.server.wait_idle(3)
    _, _, count, proxied = rig.stats.report(asyncio.get_running_loop().time())
    assert (count, proxied) == (5, 5)
    assert rig.handler.latency[2].count == 3 and rig.handler.latency[5].count == 2
    assert rig.stats.concurrency == 0 and rig.stats.proxied_concurrency == 0
