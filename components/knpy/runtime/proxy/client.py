"""The proxy core's client for requests knpy itself sends (the broker's deliveries): a
small keep-alive HTTP/1.1 client over asyncio Protocols and httptools.

`upstream.py` relays a client's request and streams the answer back to it; this module
sends a whole request of our own and returns the whole response. The dispatcher's hot path
is one POST per event; aiohttp's client spent about a third of the dispatcher's CPU on it
(py-spy, docs/broker.md). One buffer is written per request and responses are parsed with
llhttp. http:// only; https:// goes through aiohttp.

A request that fails on a reused keep-alive connection (the server closed it as we picked
it) is sent once more on a fresh connection, whatever its method: the broker's deliveries
are at-least-once anyway, and a delivery that fails costs an attempt and a backoff.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

import httptools


class HTTPError(Exception):
    """No usable response: connection refused/reset, malformed response, or timeout."""


@dataclass(frozen=True, slots=True)
class Target:
    host: str
    port: int
    head: bytes  # "POST /path HTTP/1.1\r\nHost: h\r\n"

    @classmethod
    def parse(cls, url: str) -> Target:
        u = urlsplit(url)
        if u.scheme != "http" or not u.hostname:
            raise ValueError(f"not an http:// URL: {url}")
        path = (u.path or "/") + (f"?{u.query}" if u.query else "")
        port = u.port or 80
        return cls(u.hostname, port,
                   f"POST {path} HTTP/1.1\r\nHost: {u.netloc}\r\n".encode("latin-1"))


@dataclass(slots=True)
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        lname = name.lower()
        for k, v in self.headers:
            if k.lower() == lname:
                return v
        return None


class _Conn(asyncio.Protocol):
    __slots__ = ("_body", "_headers", "_parser", "_waiter", "alive", "transport")

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[Response] | None = None
        self._headers: list[tuple[str, str]] = []
        self._body: list[bytes] = []
        self.alive = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.alive = False
        w = self._waiter
        if w is not None and not w.done():
            w.set_exception(HTTPError(f"connection lost: {exc!r}"))

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as e:
            self.alive = False
            if self._waiter is not None and not self._waiter.done():
                self._waiter.set_exception(HTTPError(f"bad response: {e}"))
            assert self.transport is not None
            self.transport.close()

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        resp = Response(self._parser.get_status_code(), self._headers, b"".join(self._body))
        if not self._parser.should_keep_alive():
            self.alive = False
        self._headers, self._body = [], []
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(resp)

    async def roundtrip(self, data: bytes) -> Response:
        assert self.transport is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        try:
            return await self._waiter
        finally:
            self._waiter = None

    def close(self) -> None:
        self.alive = False
        if self.transport is not None:
            self.transport.close()


def _clean(value: str) -> bool:
    return "\r" not in value and "\n" not in value and "\0" not in value


class Pool:
    """Idle keep-alive connections per (host, port); a connection serves one request at a
    time and goes back to the pool only after a complete, keep-alive response."""

    def __init__(self, max_idle_per_host: int = 256) -> None:
        self._idle: dict[tuple[str, int], list[_Conn]] = {}
        self._targets: dict[str, Target] = {}
        self.max_idle = max_idle_per_host

    def target(self, url: str) -> Target:
        t = self._targets.get(url)
        if t is None:
            if len(self._targets) > 4096:
                self._targets.clear()
            t = self._targets[url] = Target.parse(url)
        return t

    async def _get(self, t: Target, fresh: bool = False) -> tuple[_Conn, bool]:
        """A connection and whether it was reused from the pool."""
        idle = self._idle.get((t.host, t.port))
        while idle and not fresh:
            c = idle.pop()
            if c.alive:
                return c, True
        loop = asyncio.get_running_loop()
        try:
            _, conn = await loop.create_connection(_Conn, t.host, t.port)
        except OSError as e:
            raise HTTPError(f"connect {t.host}:{t.port}: {e}") from e
        return conn, False

    async def post(self, url: str, headers: Iterable[tuple[str, str]], body: bytes,
                   time_limit: float) -> Response:
        t = self.target(url)
        head = [t.head]
        for k, v in headers:
            if _clean(k) and _clean(v):
                head.append(f"{k}: {v}\r\n".encode())
        head.append(b"Content-Length: %d\r\n\r\n" % len(body))
        head.append(body)
        data = b"".join(head)
        conn: _Conn | None = None
        try:
            async with asyncio.timeout(time_limit):
                conn, reused = await self._get(t)
                try:
                    resp = await conn.roundtrip(data)
                except HTTPError:
                    if not reused:
                        raise
                    # The server closed an idle keep-alive connection: one fresh try.
                    conn.close()
                    conn, _ = await self._get(t, fresh=True)
                    resp = await conn.roundtrip(data)
        except TimeoutError:
            if conn is not None:
                conn.close()  # a late response must not reach the next request
            raise HTTPError(f"timed out after {time_limit}s") from None
        except HTTPError:
            if conn is not None:
                conn.close()
            raise
        if conn.alive:
            idle = self._idle.setdefault((t.host, t.port), [])
            if len(idle) < self.max_idle:
                idle.append(conn)
            else:
                conn.close()
        else:
            conn.close()
        return resp

    def close(self) -> None:
        for conns in self._idle.values():
            for c in conns:
                c.close()
        self._idle.clear()
