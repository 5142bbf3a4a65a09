"""The proxy core's client for requests knpy itself sends (the broker's deliveries): a
request/response layer on `upstream.py`'s keep-alive client.

`upstream.py` pools, dials and frames responses; the proxy's `Exchange` relays them to its
client, while `Collect` here keeps the whole response for the caller. The dispatcher's hot
path is one POST per event; aiohttp's client spent about a third of the dispatcher's CPU on
it (py-spy, docs/broker.md). One buffer is written per request and llhttp hands over the
headers and decoded body. http:// only; https:// goes through aiohttp. Re-sending on a
stale pooled connection is `Pool(resend_stale=...)`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

from knpy.runtime.proxy.upstream import UpstreamConnection, UpstreamPool


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


class _NullDownstream:
    """A collected response is relayed nowhere: the raw bytes the proxy would write to its
    client are dropped (llhttp's callbacks keep headers and body) and reads never pause."""

    PAUSE_UPSTREAM = 1

    def __init__(self) -> None:
        self.transport = self

    def write(self, data: bytes) -> None:
        pass

    def pause_read(self, reason: int) -> None:
        pass

    def resume_read(self, reason: int) -> None:
        pass


_NULL = _NullDownstream()


class _CollectingConnection(UpstreamConnection):
    """An upstream connection whose llhttp parser also hands headers and decoded body over
    to the `Collect` it serves (the proxy's connections skip these callbacks)."""

    __slots__ = ()
    relays = False

    def on_message_begin(self) -> None:
        ex = self.ex
        if ex is not None:  # a fresh message (after a 1xx): only the final one counts
            c = cast(Collect, ex)
            c.headers = []
            c.body = []

    def on_header(self, name: bytes, value: bytes) -> None:
        # Only ever called while a Collect is attached (it is feeding this parser).
        self.ex.headers.append(  # type: ignore[union-attr]
            (name.decode("latin-1"), value.decode("latin-1")))

    def on_body(self, body: bytes) -> None:
        self.ex.body.append(body)  # type: ignore[union-attr]


class Collect:
    """A `Sink` for UpstreamPool: one request of ours, its response kept whole in `future`."""

    __slots__ = ("activity", "body", "close_after", "data", "done", "future", "headers", "pool",
                 "resend_stale", "resp_started", "status", "task", "up")

    conn = _NULL
    keep_alive = True
    is_head = False

    def __init__(self, pool: UpstreamPool, data: bytes, resend_stale: bool) -> None:
        self.pool = pool
        self.data = data
        self.resend_stale = resend_stale
        self.future: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self.activity = 0
        self.status = 0
        self.resp_started = False
        self.close_after = False
        self.task: asyncio.Task[Any] | None = None
        self.up: UpstreamConnection | None = None
        self.done = False
        self.headers: list[tuple[str, str]] = []
        self.body: list[bytes] = []

    @property
    def finished(self) -> bool:
        return self.done

    def attach(self, up: UpstreamConnection, head: bytes) -> None:
        self.up = up
        up.ex = self
        up.in_head = True
        up.complete = False
        up.transport.write(head)

    def retryable(self) -> bool:
        return self.resend_stale and not self.done

    def retry(self) -> None:
        # Once, and on a fresh connection: another idle one may be just as stale.
        self.resend_stale = False
        self.up = None
        self.pool.dial(self, self.data)

    def tunnel(self, up: UpstreamConnection, data: bytes) -> None:
        self.fail(502, "unexpected 101 Switching Protocols")

    def response_end(self, up: UpstreamConnection, keep: bool) -> None:
        self.up = None
        if keep:
            self.pool.release(up)
        else:
            up.close()
        if not self.done:
            self.done = True
            self.future.set_result(Response(self.status, self.headers, b"".join(self.body)))

    def fail(self, status: int, message: str) -> None:
        if self.done:
            return
        if self.up is None:  # not sent yet: the dial failed
            message = f"connect {self.pool.host}:{self.pool.port}: {message}"
        elif not self.resp_started:
            message = f"bad response: {message}"
        self._end(HTTPError(message))

    def abort(self, why: str) -> None:
        """Give up (timed out, cancelled): a late response must not reach the next request."""
        if not self.done:
            self._end(HTTPError(why))

    def finish(self) -> None:
        if not self.done:
            self._end(HTTPError("response cut short"))

    def _end(self, err: HTTPError) -> None:
        self.done = True
        up = self.up
        if up is not None:
            self.up = None
            up.abandon()
        task = self.task
        if task is not None:
            self.task = None
            task.cancel()
        if not self.future.done():
            self.future.set_exception(err)


def _clean(value: str) -> bool:
    return "\r" not in value and "\n" not in value and "\0" not in value


class Pool:
    """Keep-alive connections per (host, port), one UpstreamPool each: a connection serves
    one request at a time and goes back to its pool only after a complete, keep-alive
    response.

    `resend_stale`: a request whose reused keep-alive connection the server closed before
    answering is sent once more, on a fresh connection, whatever its method and body (the
    proxy core re-sends only body-less idempotent requests). The broker's deliveries want
    it: they are at-least-once anyway, and a failed delivery costs an attempt and a backoff.
    """

    def __init__(self, max_idle_per_host: int = 256, *, resend_stale: bool = False) -> None:
        self._pools: dict[tuple[str, int], UpstreamPool] = {}
        self._routes: dict[str, tuple[bytes, UpstreamPool]] = {}  # url -> (head start, pool)
        self.max_idle = max_idle_per_host
        self.resend_stale = resend_stale

    def _route(self, url: str) -> tuple[bytes, UpstreamPool]:
        t = Target.parse(url)
        key = (t.host, t.port)
        pool = self._pools.get(key)
        if pool is None:
            # The caller's time limit bounds the dial too.
            pool = self._pools[key] = UpstreamPool(
                t.host, t.port, max_idle=self.max_idle, connect_timeout=3600.0,
                connection_class=_CollectingConnection)
        if len(self._routes) > 4096:
            self._routes.clear()
        route = self._routes[url] = (t.head, pool)
        return route

    async def post(self, url: str, headers: Iterable[tuple[str, str]], body: bytes,
                   time_limit: float) -> Response:
        start, pool = self._routes.get(url) or self._route(url)
        head = [start]
        for k, v in headers:
            if _clean(k) and _clean(v):
                head.append(f"{k}: {v}\r\n".encode())
        head.append(b"Content-Length: %d\r\n\r\n" % len(body))
        head.append(body)
        data = b"".join(head)
        c = Collect(pool, data, self.resend_stale)
        pool.dispatch(c, data)
        try:
            async with asyncio.timeout(time_limit):
                return await c.future
        except TimeoutError:
            c.abort("timed out")
            raise HTTPError(f"timed out after {time_limit}s") from None
        except BaseException:
            c.abort("cancelled")
            raise

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()
        self._routes.clear()
