"""Server-side websockets (RFC 6455) for the core's local applications (`app.py`).

An `App` takes a websocket in `head(req)` with `accept(req, handler)`: the opening
handshake is checked (400 if it is not a valid one) and answered 101, and `handler(ws)`
runs as a task that reads messages with `await ws.receive()` (or `async for`) until it
gets None: the peer closed, vanished, broke the protocol, or the server is draining.
When the handler returns, the server closes with 1000 (1011 if it raised).

Frames: client frames must be masked; text (UTF-8 checked, else 1007) and binary,
fragmented or not; a ping is answered with a pong; the close handshake is answered and
ends the connection. A message above `max_message` bytes is refused with 1009 as soon
as a frame header announces it, so nothing past the limit is buffered. Protocol errors
close with 1002. No extensions or subprotocols are negotiated. A ping every `heartbeat`
seconds finds dead peers: with no frame at all from the peer between two pings, the
connection is cut. While the handler leaves more than `max_message` bytes of messages
unread, the socket is not read. `AppServer.close(grace)` sends 1001 to every websocket.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any, NamedTuple

from knpy.runtime.proxy import http
from knpy.runtime.proxy.app import Request
from knpy.runtime.proxy.exchange import TUNNEL, Exchange

__all__ = ["BINARY", "TEXT", "Message", "WebSocket", "accept"]

log = logging.getLogger(__name__)

TEXT, BINARY = 1, 2
_CONT, _CLOSE, _PING, _PONG = 0, 8, 9, 10
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
# How long a close frame we sent waits for the peer's before the connection is cut.
CLOSE_TIMEOUT = 2.0
# Close codes a peer may send (RFC 6455 7.4; 1004-1006 and 1015 never go on the wire).
_VALID_CODES = frozenset({1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012,
                          1013, 1014})


class Message(NamedTuple):
    kind: int  # TEXT or BINARY
    data: bytes | str  # str for TEXT


Handler = Callable[["WebSocket"], Coroutine[Any, Any, None]]


def accept(req: Request, handler: Handler, *, max_message: int = 4 << 20,
           heartbeat: float = 30.0) -> WebSocket | None:
    """Answer a websocket opening handshake and run `handler(ws)`; a request that is not
    a valid handshake gets 400 (and None is returned)."""
    refusal = _check_handshake(req)
    if refusal is not None:
        req.reply(400, refusal.encode() + b"\n", headers=b"Sec-WebSocket-Version: 13\r\n")
        return None
    key = req.header(b"sec-websocket-key") or b""
    digest = base64.b64encode(hashlib.sha1(key + _GUID).digest())
    early = req.payload()  # frames sent right behind the head, read with it
    req.content = []
    req.state = TUNNEL
    req.status = 101
    req.resp_started = True
    req.conn.transport.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                             b"Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n" % digest)
    req.conn.server.to_tunnel(req)  # no request timeouts now; drain waits for it
    ws = WebSocket(req, max_message, heartbeat)
    req.upgraded = ws
    req.on_done = ws._connection_ended
    server = req.conn.server
    server.upgrades.add(ws)  # type: ignore[attr-defined]
    ws.task = asyncio.get_running_loop().create_task(handler(ws), name="websocket")
    ws.task.add_done_callback(ws._handler_done)
    if early:
        ws.feed(early)
    return ws


def _check_handshake(req: Request) -> str | None:
    """Why this request is not a websocket opening handshake, or None (RFC 6455 4.2.1)."""
    if req.method != b"GET" or req.version != b"HTTP/1.1":
        return "websocket handshake: want GET over HTTP/1.1"
    if b"websocket" not in http.connection_tokens(req.upgrade):
        return "websocket handshake: no Upgrade: websocket"
    if b"upgrade" not in http.connection_tokens(req.connection):
        return "websocket handshake: no Connection: upgrade"
    if req.header(b"sec-websocket-version") != b"13":
        return "websocket handshake: unsupported Sec-WebSocket-Version (want 13)"
    try:
        nonce = base64.b64decode(req.header(b"sec-websocket-key") or b"", validate=True)
    except binascii.Error:
        nonce = b""
    if len(nonce) != 16:
        return "websocket handshake: Sec-WebSocket-Key is not 16 bytes in base64"
    return None


def _unmask(payload: bytes, mask: bytes) -> bytes:
    n = len(payload)
    if not n:
        return payload
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")).to_bytes(
        n, "little")


def _frame(opcode: int, payload: bytes) -> bytes:
    """A server frame (never masked)."""
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, n))
    elif n < 1 << 16:
        head = bytes((0x80 | opcode, 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 127)) + n.to_bytes(8, "big")
    return head + payload


class WebSocket:
    """One accepted websocket: frames in, messages out to the handler."""

    def __init__(self, req: Exchange, max_message: int, heartbeat: float) -> None:
        self.req = req
        self.conn = req.conn
        self.peer = req.peer.decode()
        self.max_message = max_message
        self.task: asyncio.Task[None] | None = None
        self.close_code: int | None = None  # the code the peer closed with (1005: none)
        self._buf = bytearray()
        self._frag_kind = 0  # opcode of the fragmented message being assembled, 0 if none
        self._frags: list[bytes] = []
        self._frag_size = 0
        self._messages: deque[Message] = deque()
        self._queued = 0
        self._waiter: asyncio.Future[None] | None = None
        self._ended = False  # no further message will be queued
        self._close_sent = False
        self._discard = False  # failed: whatever else arrives is dropped
        self._gone = False  # the connection (the exchange) has ended
        self._paused = False
        self._got_frame = False  # a frame came since the last heartbeat ping
        self._pinged = False
        loop = asyncio.get_running_loop()
        self._close_timer: asyncio.TimerHandle | None = None
        self._heartbeat = heartbeat
        self._beat_timer = loop.call_later(heartbeat, self._beat) if heartbeat > 0 else None

    # ------------------------------------------------------------------ for handlers
    async def receive(self) -> Message | None:
        """The next message; None once the stream has ended."""
        while not self._messages:
            if self._ended:
                return None
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        msg = self._messages.popleft()
        self._queued -= len(msg.data)
        if self._paused and not self._messages:
            self._paused = False
            self.conn.resume_read(self.conn.PAUSE_BUFFER)
        return msg

    def __aiter__(self) -> WebSocket:
        return self

    async def __anext__(self) -> Message:
        msg = await self.receive()
        if msg is None:
            raise StopAsyncIteration
        return msg

    def send(self, data: bytes | str) -> None:
        """Send one message (text for str, binary for bytes); dropped once closing."""
        if self._close_sent or self._gone:
            return
        if isinstance(data, str):
            self.conn.transport.write(_frame(TEXT, data.encode()))
        else:
            self.conn.transport.write(_frame(BINARY, data))

    def close(self, code: int = 1000) -> None:
        """Start the close handshake: no more messages; the connection ends when the peer
        answers or after CLOSE_TIMEOUT."""
        if self._close_sent or self._gone:
            return
        self._send_close(code)
        self._end_messages()
        self._close_timer = asyncio.get_running_loop().call_later(CLOSE_TIMEOUT,
                                                                   self.req.finish)

    # ------------------------------------------------------------------ for the core
    def shutdown(self) -> None:
        """The server is draining: close with 1001 (going away)."""
        self.close(1001)

    async def cancel(self) -> None:
        """The server has closed: stop the handler if it still runs, and wait for it."""
        task = self.task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task])  # its outcome is logged by _handler_done

    def feed(self, data: bytes) -> None:
        """Bytes read from the connection."""
        if self._discard or self._gone:
            return
        buf = self._buf
        buf += data
        while len(buf) >= 2 and not self._discard:
            b0, b1 = buf[0], buf[1]
            opcode = b0 & 0x0F
            size = b1 & 0x7F
            at = 2
            if size == 126:
                if len(buf) < 4:
                    return
                size = int.from_bytes(buf[2:4], "big")
                at = 4
            elif size == 127:
                if len(buf) < 10:
                    return
                size = int.from_bytes(buf[2:10], "big")
                at = 10
            problem = self._check_header(b0, b1, opcode, size)
            if problem is not None:
                self._fail(*problem)
                return
            end = at + 4 + size
            if len(buf) < end:
                return
            payload = _unmask(bytes(buf[at + 4:end]), bytes(buf[at:at + 4]))
            del buf[:end]
            self._got_frame = True
            self._on_frame(b0 & 0x80, opcode, payload)

    def _check_header(self, b0: int, b1: int, opcode: int,
                      size: int) -> tuple[int, str] | None:
        if b0 & 0x70:
            return 1002, "reserved bits set (no extension was negotiated)"
        if not b1 & 0x80:
            return 1002, "client frame not masked"
        if opcode >= 8:
            if opcode > _PONG:
                return 1002, f"unknown opcode {opcode}"
            if not b0 & 0x80 or size > 125:
                return 1002, "control frame fragmented or longer than 125 bytes"
            return None
        if opcode > BINARY:
            return 1002, f"unknown opcode {opcode}"
        if opcode == _CONT and not self._frag_kind:
            return 1002, "continuation frame without a message"
        if opcode != _CONT and self._frag_kind:
            return 1002, "new message inside a fragmented one"
        if self._frag_size + size > self.max_message:
            return 1009, f"message larger than {self.max_message} bytes"
        return None

    def _on_frame(self, fin: int, opcode: int, payload: bytes) -> None:
        if opcode == _PING:
            if not self._close_sent:
                self.conn.transport.write(_frame(_PONG, payload))
        elif opcode == _PONG:
            pass
        elif opcode == _CLOSE:
            self._on_close(payload)
        elif not fin:
            if opcode != _CONT:
                self._frag_kind = opcode
            self._frags.append(payload)
            self._frag_size += len(payload)
        else:
            kind = opcode
            if opcode == _CONT:
                kind = self._frag_kind
                self._frags.append(payload)
                payload = b"".join(self._frags)
                self._frag_kind, self._frags, self._frag_size = 0, [], 0
            self._deliver(kind, payload)

    def _deliver(self, kind: int, payload: bytes) -> None:
        data: bytes | str = payload
        if kind == TEXT:
            try:
                data = payload.decode()
            except UnicodeDecodeError:
                self._fail(1007, "text message is not UTF-8")
                return
        if self._ended:
            return  # we are closing: the handler takes no more
        self._messages.append(Message(kind, data))
        self._queued += len(data)
        self._wake()
        if self._queued > self.max_message and not self._paused:
            self._paused = True  # the handler is behind: stop reading the socket
            self.conn.pause_read(self.conn.PAUSE_BUFFER)

    def _on_close(self, payload: bytes) -> None:
        code = 1005
        if payload:
            code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 0
            if code not in _VALID_CODES and not 3000 <= code <= 4999:
                self._fail(1002, f"invalid close code {code}")
                return
            try:
                payload[2:].decode()
            except UnicodeDecodeError:
                self._fail(1007, "close reason is not UTF-8")
                return
        self.close_code = code
        self._discard = True
        if not self._close_sent:
            self._send_close(1000 if code == 1005 else code)
        self._end_messages()
        self.req.finish()  # both closes are out: the server closes TCP first (RFC 7.1.1)

    def _fail(self, code: int, reason: str) -> None:
        """Fail the connection (RFC 6455 7.1.7): a close frame, then drop what still comes
        until the peer closes or CLOSE_TIMEOUT passes (closing at once with unread input
        would send a reset, which can destroy the close frame before the peer reads it;
        a half-close would too: aiohttp's client then cannot answer the close)."""
        log.info("websocket from %s failed: %s (%d)", self.peer, reason, code)
        self._discard = True
        self._buf.clear()
        if not self._close_sent:
            self._send_close(code, reason)
        self._end_messages()
        if self._close_timer is None:
            self._close_timer = asyncio.get_running_loop().call_later(CLOSE_TIMEOUT,
                                                                       self.req.finish)

    def _send_close(self, code: int, reason: str = "") -> None:
        self._close_sent = True
        self.conn.transport.write(_frame(_CLOSE, code.to_bytes(2, "big") + reason.encode()))

    def _end_messages(self) -> None:
        self._ended = True
        self._wake()

    def _wake(self) -> None:
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)

    def _beat(self) -> None:
        self._beat_timer = None
        if self._gone or self._close_sent:
            return
        if self._pinged and not self._got_frame:
            log.info("websocket from %s: no answer to the last ping; cutting", self.peer)
            self.conn.transport.abort()
            return
        self._got_frame = False
        self._pinged = True
        self.conn.transport.write(_frame(_PING, b""))
        self._beat_timer = asyncio.get_running_loop().call_later(self._heartbeat, self._beat)

    def _connection_ended(self, _ex: Exchange) -> None:
        """The exchange's on_done: however the connection ended."""
        self._gone = True
        for t in (self._beat_timer, self._close_timer):
            if t is not None:
                t.cancel()
        self._beat_timer = self._close_timer = None
        self._end_messages()

    def _handler_done(self, task: asyncio.Task[None]) -> None:
        self.conn.server.upgrades.discard(self)  # type: ignore[attr-defined]
        if task.cancelled():
            self.req.finish()
            return
        exc = task.exception()
        if exc is not None:
            log.error("websocket handler failed", exc_info=exc)
        self.close(1011 if exc is not None else 1000)
