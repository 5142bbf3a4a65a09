"""The activator's stat stream into the autoscaler, over the proxy core's websocket: the
activator's own client (StatSink, aiohttp's ws client) against the autoscaler's server."""

from __future__ import annotations

from collections.abc import Sequence

import aiohttp

from knpy.activator.stats import StatSink
from knpy.apis.autoscaling.config import AutoscalerConfig
from knpy.autoscaler.multiscaler import Multiscaler
from knpy.autoscaler.server import EndpointsPublisher, make_server
from knpy.runtime.contract.stat import Stat
from knpy.runtime.contract.wirestat import WireStatMessage, encode_wire_stats
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


async def test_statsink_frames_reach_the_collector_in_order() -> None:
    async with aiohttp.ClientSession() as session:
        ms = Recording(session)
        server = make_server(ms, EndpointsPublisher(ms, None))
        port = await server.listen("127.0.0.1", 0)
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
            await server.close()
            await ms.close()


async def test_a_message_over_16_mib_is_refused_with_1009() -> None:
    async with aiohttp.ClientSession() as session:
        ms = Recording(session)
        server = make_server(ms, EndpointsPublisher(ms, None))
        port = await server.listen("127.0.0.1", 0)
        try:
            async with session.ws_connect(f"ws://127.0.0.1:{port}/") as ws:
                await ws.send_bytes(stat_frame("small", 1.0))
                await ws.send_bytes(b"\x0a" * ((16 << 20) + 1))
                msg = await ws.receive(timeout=10)
                assert msg.type == aiohttp.WSMsgType.CLOSE and ws.close_code == 1009
            assert [m.name for m in ms.got] == ["small"]
            await eventually(lambda: server.inflight == 0 and not server.upgrades, 5,
                             "the stream ended on the server too")
        finally:
            await server.close()
            await ms.close()
