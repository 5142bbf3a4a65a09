"""runtime.proxy.websocket: RFC 6455 on the core's local apps, against aiohttp's client
(the one the activator streams stats with) and raw, malformed frames; on uvloop and on
the default loop."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import random
from collections.abc import AsyncIterator

import aiohttp
import pytest

from knpy.runtime.proxy.app import AppServer, Request
from knpy.runtime.proxy.websocket import BINARY, Message, WebSocket, accept
from tests.support.poll import eventually
from tests.unit.proxy.rawclient import read_response

LIMIT = 1000


class Echo:
    """Echoes every websocket message back and records what it got and how it ended."""

    def __init__(self, heartbeat: float = 30.0) -> None:
        self.heartbeat = heartbeat
        self.got: list[Message] = []
        self.ended = 0
        self.stop = asyncio.Event()

    def head(self, req: Request) -> None:
        if req.path() == b"/ws":
            accept(req, self.handle, max_message=LIMIT, heartbeat=self.heartbeat)
        elif req.path() == b"/stuck":
            accept(req, self.stuck, max_message=LIMIT, heartbeat=self.heartbeat)
        else:
            req.reply(200, b"plain\n")

    async def respond(self, req: Request) -> None:
        req.reply(200, req.payload())

    async def handle(self, ws: WebSocket) -> None:
        try:
            async for msg in ws:
                self.got.append(msg)
                if msg.data in ("bye", b"bye"):
                    return  # the server closes (1000)
                ws.send(msg.data)
        finally:
            self.ended += 1


    async def stuck(self, ws: WebSocket) -> None:
        """Never reads: only the server's close can end it."""
        try:
            await asyncio.Event().wait()
        finally:
            self.ended += 1


async def serve(echo: Echo) -> tuple[AppServer, int]:
    srv = AppServer(echo)
    return srv, await srv.listen("127.0.0.1", 0)


@pytest.fixture
async def app() -> AsyncIterator[tuple[Echo, AppServer, int]]:
    echo = Echo()
    srv, port = await serve(echo)
    yield echo, srv, port
    await srv.close()


async def settled(srv: AppServer, echo: Echo, ended: int = 1) -> None:
    """The handler returned and nothing of the websocket is left in the server."""
    await eventually(lambda: echo.ended == ended and not srv.upgrades and srv.inflight == 0
                     and not srv.connections, 5, "the websocket fully ended")


# ---------------------------------------------------------------- raw frames
def frame(opcode: int, payload: bytes = b"", *, fin: bool = True, mask: bool = True,
          rsv: int = 0) -> bytes:
    n = len(payload)
    b0 = (0x80 if fin else 0) | rsv | opcode
    size = (bytes((n,)) if n < 126 else bytes((126,)) + n.to_bytes(2, "big") if n < 65536
            else bytes((127,)) + n.to_bytes(8, "big"))
    if not mask:
        return bytes((b0,)) + size + payload
    key = os.urandom(4)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return bytes((b0, size[0] | 0x80)) + size[1:] + key + masked


HANDSHAKE = (b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
             b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")


async def opened(port: int, early: bytes = b"") -> tuple[asyncio.StreamReader,
                                                         asyncio.StreamWriter]:
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(HANDSHAKE + early)
    head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 101 ")
    # RFC 6455 1.3's own example key and answer
    assert b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" in head
    return r, w


async def read_frame(r: asyncio.StreamReader) -> tuple[int, bytes]:
    b0, b1 = await asyncio.wait_for(r.readexactly(2), 5)
    assert not b1 & 0x80, "server frames are not masked"
    n = b1 & 0x7F
    if n == 126:
        n = int.from_bytes(await r.readexactly(2), "big")
    elif n == 127:
        n = int.from_bytes(await r.readexactly(8), "big")
    return b0 & 0x0F, await r.readexactly(n)


async def closed_with(r: asyncio.StreamReader, w: asyncio.StreamWriter, code: int) -> None:
    """The next frame is a close with `code`; answered as aiohttp does (a close frame, then
    the end of the stream), the server ends the connection."""
    op, payload = await read_frame(r)
    assert (op, int.from_bytes(payload[:2], "big")) == (8, code), payload
    with contextlib.suppress(OSError):  # the server may have closed already
        w.write(frame(8, payload[:2]))
        w.write_eof()
    assert await asyncio.wait_for(r.read(), 5) == b""


# ---------------------------------------------------------------- tests
async def test_aiohttp_client_exchanges_text_and_binary_and_closes(app) -> None:
    echo, srv, port = app
    async with aiohttp.ClientSession() as s, s.ws_connect(f"ws://127.0.0.1:{port}/ws") as ws:
        await ws.send_str("héllo")
        assert await ws.receive_str(timeout=5) == "héllo"
        await ws.send_bytes(b"\x00\x01" * 300)  # > 125 bytes: a 16-bit length
        assert await ws.receive_bytes(timeout=5) == b"\x00\x01" * 300
        await ws.ping(b"are you there")  # answered; aiohttp takes the pong itself
        await ws.send_bytes(b"after ping")
        assert await ws.receive_bytes(timeout=5) == b"after ping"
    assert ws.close_code == 1000
    assert [m.data for m in echo.got] == ["héllo", b"\x00\x01" * 300, b"after ping"]
    assert echo.got[1].kind == BINARY
    await settled(srv, echo)


async def test_handler_returning_closes_with_1000(app) -> None:
    echo, srv, port = app
    async with aiohttp.ClientSession() as s, s.ws_connect(f"ws://127.0.0.1:{port}/ws") as ws:
        await ws.send_str("bye")
        msg = await ws.receive(timeout=5)
        assert msg.type == aiohttp.WSMsgType.CLOSE and ws.close_code == 1000
    await settled(srv, echo)


async def test_ping_gets_a_pong_with_its_payload_and_fragments_join(app) -> None:
    echo, srv, port = app
    # A first fragment sent in the same write as the handshake, before the 101.
    r, w = await opened(port, early=frame(1, b"frag", fin=False))
    w.write(frame(9, b"p1"))  # a ping between fragments is allowed
    assert await read_frame(r) == (10, b"p1")
    w.write(frame(0, b"men", fin=False) + frame(0, b"ted"))
    assert await read_frame(r) == (1, b"fragmented")
    w.write(frame(8, (4000).to_bytes(2, "big") + b"done"))
    await closed_with(r, w, 4000)  # the peer's code echoed
    await settled(srv, echo)
    assert [m.data for m in echo.got] == ["fragmented"]


@pytest.mark.parametrize(("bad", "code"), [
    (frame(2, b"x", mask=False), 1002),                     # client frames must be masked
    (frame(2, b"x", rsv=0x40), 1002),                       # no extension negotiated
    (frame(3, b"x"), 1002),                                 # reserved data opcode
    (frame(11, b"x"), 1002),                                # reserved control opcode
    (frame(9, b"p" * 126), 1002),                           # control frame too long
    (frame(9, b"p", fin=False), 1002),                      # fragmented control frame
    (frame(0, b"x"), 1002),                                 # continuation of nothing
    (frame(1, b"a", fin=False) + frame(1, b"b"), 1002),     # new message mid-message
    (frame(1, b"\xff\xfe"), 1007),                          # text that is not UTF-8
    (frame(8, b"\x03"), 1002),                              # 1-byte close payload
    (frame(8, (1005).to_bytes(2, "big")), 1002),            # a code never sent on the wire
    (frame(8, (1000).to_bytes(2, "big") + b"\xff"), 1007),  # reason not UTF-8
    (frame(2, b"x" * (LIMIT + 1)), 1009),                   # one frame over the limit
    (frame(2, b"x" * 600, fin=False) + frame(0, b"x" * 600), 1009),  # fragments over it
])
async def test_malformed_frames_close_with_the_rfc_code(app, bad: bytes, code: int) -> None:
    echo, srv, port = app
    r, w = await opened(port)
    w.write(frame(1, b"ok"))
    assert await read_frame(r) == (1, b"ok")
    w.write(bad + frame(1, b"never read"))
    await closed_with(r, w, code)
    w.close()
    await settled(srv, echo)
    assert [m.data for m in echo.got] == ["ok"]


async def test_oversize_message_from_aiohttp_gets_1009_before_it_is_buffered(app) -> None:
    echo, srv, port = app
    async with aiohttp.ClientSession() as s, s.ws_connect(f"ws://127.0.0.1:{port}/ws") as ws:
        await ws.send_bytes(b"z" * 5_000_000)
        msg = await ws.receive(timeout=5)
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert ws.close_code == 1009
    await settled(srv, echo)
    assert echo.got == []


async def test_client_vanishing_mid_frame_leaves_no_task(app) -> None:
    echo, srv, port = app
    _, w = await opened(port)
    w.write(frame(2, b"whole") + frame(2, b"y" * 500)[:100])  # then gone, mid-frame
    await eventually(lambda: len(echo.got) == 1, 5, "the whole frame delivered")
    w.transport.abort()
    await settled(srv, echo)
    tasks = [t for t in asyncio.all_tasks() if t.get_name() == "websocket"]
    assert tasks == []


async def test_server_drain_closes_with_1001(app) -> None:
    echo, srv, port = app
    async with aiohttp.ClientSession() as s, s.ws_connect(f"ws://127.0.0.1:{port}/ws") as ws:
        await ws.send_str("one")
        assert await ws.receive_str(timeout=5) == "one"
        closing = asyncio.create_task(srv.close(grace=5))
        msg = await ws.receive(timeout=5)
        assert msg.type == aiohttp.WSMsgType.CLOSE and ws.close_code == 1001
    await asyncio.wait_for(closing, 5)
    await settled(srv, echo)


async def test_server_close_cancels_a_handler_that_does_not_end_and_waits_for_it(app) -> None:
    echo, srv, port = app
    async with aiohttp.ClientSession() as s, \
            s.ws_connect(f"ws://127.0.0.1:{port}/stuck") as ws:
        await ws.send_str("ignored")
        closing = asyncio.create_task(srv.close(grace=0.5))
        msg = await ws.receive(timeout=5)
        assert msg.type == aiohttp.WSMsgType.CLOSE and ws.close_code == 1001
        await asyncio.wait_for(closing, 5)
        assert echo.ended == 1  # cancelled, and awaited, by close()
    assert not srv.upgrades and srv.inflight == 0


@pytest.mark.parametrize("request_bytes", [
    HANDSHAKE.replace(b"Version: 13", b"Version: 8"),
    HANDSHAKE.replace(b"dGhlIHNhbXBsZSBub25jZQ==", b"c2hvcnQ="),     # 5 bytes, not 16
    HANDSHAKE.replace(b"dGhlIHNhbXBsZSBub25jZQ==", b"!!not base64!!"),
    HANDSHAKE.replace(b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", b""),
    HANDSHAKE.replace(b"GET", b"POST").replace(b"\r\n\r\n", b"\r\nContent-Length: 0\r\n\r\n"),
    HANDSHAKE.replace(b"Upgrade: websocket", b"Upgrade: h2c"),
])
async def test_bad_handshakes_get_400_and_a_close(app, request_bytes: bytes) -> None:
    echo, _, port = app
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(request_bytes)
    status, headers, body = await asyncio.wait_for(read_response(r), 5)
    assert status == 400 and body.startswith(b"websocket handshake: ")
    assert headers[b"sec-websocket-version"] == b"13"
    assert await asyncio.wait_for(r.read(), 5) == b""  # a refused upgrade ends the stream
    assert echo.ended == 0


async def test_heartbeat_cuts_a_peer_that_never_answers() -> None:
    echo = Echo(heartbeat=0.2)
    srv, port = await serve(echo)
    try:
        # aiohttp answers pings while it reads (the activator always does): it stays
        # connected over several heartbeats.
        async with aiohttp.ClientSession() as s, \
                s.ws_connect(f"ws://127.0.0.1:{port}/ws") as ws:
            reading = asyncio.create_task(ws.receive_str(timeout=5))
            await asyncio.sleep(1.0)
            await ws.send_str("still here")
            assert await reading == "still here"
        # A raw client that reads nothing and answers nothing is cut after two pings.
        r, w = await opened(port)
        assert await read_frame(r) == (9, b"")
        await eventually(lambda: echo.ended == 2 and srv.inflight == 0, 5, "peer cut")
        w.close()
    finally:
        await srv.close()


async def test_a_request_key_of_random_bytes_is_accepted(app) -> None:
    _, _, port = app
    key = base64.b64encode(os.urandom(16))
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(HANDSHAKE.replace(b"dGhlIHNhbXBsZSBub25jZQ==", key))
    assert (await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 5)).startswith(b"HTTP/1.1 101")
    w.close()


def _mutated_frames(rng: random.Random) -> bytes:
    """A few valid frames, then damage: flipped, inserted, dropped or truncated bytes."""
    data = bytearray(b"".join(
        frame(rng.choice((0, 1, 2, 8, 9, 10)), rng.randbytes(rng.choice((0, 5, 125, 200))),
              fin=rng.random() < 0.8) for _ in range(rng.randint(1, 4))))
    for _ in range(rng.randint(1, 3)):
        kind = rng.randrange(4)
        if kind == 0 and data:
            data[rng.randrange(len(data))] = rng.randrange(256)
        elif kind == 1:
            at = rng.randint(0, len(data))
            data[at:at] = rng.randbytes(rng.randint(1, 16))
        elif kind == 2 and data:
            at = rng.randrange(len(data))
            del data[at:at + rng.randint(1, 8)]
        else:
            del data[rng.randint(0, len(data)):]
    return bytes(data)


async def test_fuzzed_frames_always_end_the_connection_cleanly(caplog) -> None:
    """Seeded, bounded: 120 damaged streams, half ending in a half-close, half just going
    quiet. Each connection ends within 5 s (a close, the peer's EOF, or the heartbeat
    cutting a peer stuck mid-frame), every handler ends, nothing is logged as an error."""
    echo = Echo(heartbeat=0.3)
    srv, port = await serve(echo)
    rng = random.Random(6455)
    cases = [(_mutated_frames(rng), rng.random() < 0.5) for _ in range(120)]

    async def one(data: bytes, eof: bool) -> None:
        r, w = await opened(port)
        try:
            with contextlib.suppress(OSError):
                w.write(data)
                if eof:
                    w.write_eof()
            with contextlib.suppress(OSError):
                while await asyncio.wait_for(r.read(65536), 5):
                    pass
        finally:
            w.close()

    try:
        sem = asyncio.Semaphore(16)

        async def bounded(data: bytes, eof: bool) -> None:
            async with sem:
                await one(data, eof)
        await asyncio.gather(*(bounded(d, e) for d, e in cases))
        await settled(srv, echo, ended=len(cases))
    finally:
        await srv.close()
    assert [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")] == []
