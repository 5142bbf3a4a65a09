"""The activator's stat stream into the autoscaler, over the proxy core's websocket: the
activator's own client (StatSink, aiohttp's ws client) against the autoscaler's server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import aiohttp
import pytest

from knpy.activator.stats import StatSink
from knpy.apis.autoscaling.config import AutoscalerConfig
from knpy.autoscaler.multiscaler import Multiscaler
from knpy.autoscaler.server import EndpointsPublisher, make_server
from knpy.runtime.contract.stat import Stat
from knpy.runtime.contract.wirestat import WireStatMessage, encode_wire_stats
from knpy.runtime.proxy.app import AppServer
from tests.support.poll import eventually


class Recording(Multiscaler):
    def __init__(self, session: aiohttp.ClientSession) -> None:
        super().__init__(AutoscalerConfig(), session)
        self.got: list[WireStatMessage] = []

    def record_activator_stats(self, messages: Sequence[WireStatMessage]) -> None:
        self.got.extend(messages)
        super().record_activator_stats(messages)


def stat_frame(name: str, concurrency: float) -> bytes:
    return encode_wire_stats([WireStatMessage("ns", name, Stat(
        pod_name="activator-0", average_concurrent_requests=concurrency))])


@pytest.fixture
async def api() -> AsyncIterator[tuple[Recording, AppServer, int, aiohttp.ClientSession]]:
    async with aiohttp.ClientSession() as session:
        ms = Recording(session)
        server = make_server(ms, EndpointsPublisher(ms, None))
        port = await server.listen("127.0.0.1", 0)
        yield ms, server, port, session
        await server.close()
        await ms.close()


async def test_statsink_frames_reach_the_collector_in_order(api) -> None:
    ms, server, port, _ = api
    sink = StatSink(f"ws://127.0.0.1:{port}/")
    try:
        for i in range(50):
            sink.send(stat_frame(f"r{i}", float(i)))
        sink.start()
        await eventually(lambda: len(ms.got) == 50, 10, "50 stats recorded")
        assert [(m.name, m.stat.average_concurrent_requests) for m in ms.got] == [
            (f"r{i}", float(i)) for i in range(50)]
        assert sink.connected
        # Draining the server closes the stream (1001); the sink notices and retries.
        await server.close(grace=2)
        await eventually(lambda: not sink.connected, 5, "the sink saw the close")
    finally:
        await sink.close()


async def test_a_message_over_16_mib_is_refused_with_1009(api) -> None:
    ms, server, port, session = api
    async with session.ws_connect(f"ws://127.0.0.1:{port}/") as ws:
        await ws.send_bytes(stat_frame("small", 1.0))
        await ws.send_bytes(b"\x0a" * ((16 << 20) + 1))
        msg = await ws.receive(timeout=10)
        assert msg.type == aiohttp.WSMsgType.CLOSE and ws.close_code == 1009
    assert [m.name for m in ms.got] == ["small"]
    await eventually(lambda: server.inflight == 0 and not server.upgrades, 5,
                     "the stream ended on the server too")


async def test_get_root_without_a_websocket_upgrade_answers_the_text(api) -> None:
    _, _, port, session = api
    for headers in ({}, {"Connection": "upgrade", "Upgrade": "h2c"}):
        async with session.get(f"http://127.0.0.1:{port}/", headers=headers) as r:
            assert r.status == 200 and r.content_type == "text/plain"
            assert await r.text() == "knpy autoscaler: websocket stats endpoint\n"
