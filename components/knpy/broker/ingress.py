"""Broker ingress: accept CloudEvents over HTTP at /<namespace>/<broker> and store them.

Status codes (docs/broker.md has the table): OPTIONS 200 with the WebHook headers, other
non-POST 405, `POST /` 404, a path that is not /ns/name 400, not a (valid) CloudEvent or a
batch 400, TTL exhausted 400, over the size limit 413, unknown broker 404, stored 202,
store unavailable 503. 202 is sent only after the store confirmed the write.

The HTTP server is an asyncio Protocol over httptools (llhttp): aiohttp's server took about
half of the ingress CPU under py-spy. Requests on one connection are answered in order;
a connection with too many queued requests stops being read until they are answered.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from http import HTTPStatus
from typing import cast
from urllib.parse import unquote

import httptools

from knpy.broker import admission, record
from knpy.broker.store import EventStore, StoreUnavailable
from knpy.runtime import cloudevents as ce
from knpy.runtime.contract.eventing import EventingContract

log = logging.getLogger("knpy.broker.ingress")

OPTIONS_HEADERS = (("Allow", "POST, OPTIONS"), ("WebHook-Allowed-Origin", "*"),
                   ("WebHook-Allowed-Rate", "*"))
Reply = tuple[int, tuple[tuple[str, str], ...], str]
_NONE: tuple[tuple[str, str], ...] = ()


class Ingress:
    """The request logic, independent of the HTTP server; the broker set is swapped whole
    when the contract changes."""

    def __init__(self, store: EventStore, max_event_bytes: int) -> None:
        self.store = store
        self.max_event_bytes = max_event_bytes
        self.brokers: frozenset[str] = frozenset()

    def set_contract(self, contract: EventingContract) -> None:
        self.brokers = frozenset(b.key for b in contract.brokers)

    def precheck(self, method: str, path: str) -> Reply | None:
        """Everything decided by the request line alone."""
        if method == "OPTIONS":
            return 200, OPTIONS_HEADERS, ""
        if method != "POST":
            return 405, _NONE, f"method {method} not allowed"
        if path == "/":
            return 404, _NONE, "POST /<namespace>/<broker>"
        parts = path.split("/")
        if len(parts) != 3 or parts[0] or not parts[1] or not parts[2]:
            return 400, _NONE, f"path {path!r} is not /<namespace>/<broker>"
        return None

    async def accept(self, path: str, headers: list[tuple[str, str]], body: bytes) -> Reply:
        """A POST whose request line passed precheck and whose body is within the limit."""
        try:
            event = admission.admit(ce.from_http(headers, body))
        except ce.CloudEventError as e:
            return 400, _NONE, f"invalid CloudEvent: {e}"
        key = path[1:]
        if key not in self.brokers:
            return 404, _NONE, f"broker {key} not found"
        try:
            await self.store.append(key, record.encode(event, admission.passthrough(headers)),
                                    record.identity(event))
        except StoreUnavailable as e:
            log.warning("store unavailable: %s", e)
            return 503, _NONE, "event store unavailable; retry"
        return 202, _NONE, ""


def _response(status: int, headers: tuple[tuple[str, str], ...], text: str,
              close: bool) -> bytes:
    body = (text + "\n").encode() if text else b""
    lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
             f"Content-Length: {len(body)}\r\n"]
    if body:
        lines.append("Content-Type: text/plain; charset=utf-8\r\n")
    for k, v in headers:
        lines.append(f"{k}: {v}\r\n")
    if close:
        lines.append("Connection: close\r\n")
    lines.append("\r\n")
    return "".join(lines).encode("latin-1") + body


_ACCEPTED = _response(202, _NONE, "", False)
_MAX_QUEUED = 32  # pipelined requests per connection before reading pauses


class _Request:
    __slots__ = ("body", "close", "headers", "method", "path", "reply")

    def __init__(self, method: str, path: str, headers: list[tuple[str, str]], body: bytes,
                 close: bool, reply: Reply | None) -> None:
        self.method, self.path, self.headers, self.body = method, path, headers, body
        self.close, self.reply = close, reply


class IngressProtocol(asyncio.Protocol):
    def __init__(self, ingress: Ingress) -> None:
        self.ingress = ingress
        self.limit = ingress.max_event_bytes
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.queue: collections.deque[_Request] = collections.deque()
        self.worker: asyncio.Task[None] | None = None
        self.paused = False
        self.dead = False
        self._reset()

    def _reset(self) -> None:
        self.url = b""
        self.headers: list[tuple[str, str]] = []
        self.body: list[bytes] = []
        self.size = 0
        self.too_large = False

    # ---------------------------------------------------------------- transport
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.dead = True
        self.queue.clear()

    def data_received(self, data: bytes) -> None:
        if self.dead:
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._enqueue(_Request("", "", [], b"", True, (400, _NONE, "upgrade refused")))
        except httptools.HttpParserError as e:
            self._enqueue(_Request("", "", [], b"", True, (400, _NONE, f"bad request: {e}")))
            self.dead = True  # nothing more is parsed on this connection

    # ---------------------------------------------------------------- parser callbacks
    def on_message_begin(self) -> None:
        self._reset()

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        length = next((v for k, v in self.headers if k.lower() == "content-length"), None)
        if length is not None and length.isdigit() and int(length) > self.limit:
            self.too_large = True
        elif any(k.lower() == "expect" and v.lower() == "100-continue"
                 for k, v in self.headers):
            assert self.transport is not None
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, chunk: bytes) -> None:
        if self.too_large:
            return
        self.size += len(chunk)
        if self.size > self.limit:
            self.too_large = True
            self.body = []
        else:
            self.body.append(chunk)

    def on_message_complete(self) -> None:
        method = self.parser.get_method().decode("latin-1")
        path = unquote(self.url.split(b"?", 1)[0].decode("latin-1"))
        close = not self.parser.should_keep_alive()
        reply = self.ingress.precheck(method, path)
        if reply is None and self.too_large:
            reply = (413, _NONE, f"event larger than {self.limit} bytes")
        self._enqueue(_Request(method, path, self.headers, b"".join(self.body), close, reply))

    # ---------------------------------------------------------------- answering
    def _enqueue(self, req: _Request) -> None:
        self.queue.append(req)
        if len(self.queue) >= _MAX_QUEUED and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
        if self.worker is None:
            self.worker = asyncio.get_running_loop().create_task(self._answer())

    async def _answer(self) -> None:
        try:
            while self.queue:
                req = self.queue.popleft()
                reply = req.reply or await self.ingress.accept(req.path, req.headers, req.body)
                t = self.transport
                if t is None or t.is_closing():
                    return
                if reply[0] == 202 and not req.close:
                    t.write(_ACCEPTED)
                elif req.method == "HEAD":  # same head, no body (RFC 9110 9.3.2)
                    t.write(_response(*reply, close=req.close).split(b"\r\n\r\n", 1)[0]
                            + b"\r\n\r\n")
                else:
                    t.write(_response(*reply, close=req.close))
                if req.close:
                    t.close()
                    return
                if self.paused and len(self.queue) < _MAX_QUEUED // 2:
                    self.paused = False
                    t.resume_reading()
        finally:
            self.worker = None


async def serve(ingress: Ingress, host: str, port: int) -> asyncio.Server:
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: IngressProtocol(ingress), host, port,
                                    reuse_address=True, backlog=1024)
