"""Upstream side: the one keep-alive HTTP/1.1 client: a connection pool per upstream and
the per-connection response framing.

A connection serves one `Sink` at a time. The proxy's sink is an `Exchange`, which relays
the response to its client; `client.py`'s sink collects it instead (requests knpy sends
itself). Dialing, pooling, framing, the head limit and the rule for re-sending on a stale
pooled connection (`Sink.retryable`) live here once.

A response is relayed as the raw bytes the upstream sent. The head is located with one
`find`, fed to llhttp for the status and framing, and rewritten only to strip hop-by-hop
headers; body bytes go to the client untouched (still chunked if they were), while llhttp
watches them only to see where the message ends. One request at a time per connection,
so everything after the head belongs to the current response.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, cast

import httptools

from knpy.runtime.proxy import http

if TYPE_CHECKING:
    from knpy.runtime.proxy.exchange import Exchange

log = logging.getLogger(__name__)

MAX_HEAD = 64 * 1024
_FRAMED_RE = re.compile(rb"\r\n(?:content-length|transfer-encoding)[ \t]*:", re.IGNORECASE)


class _Writer(Protocol):
    def write(self, data: bytes) -> None: ...


class Downstream(Protocol):
    """Where a sink's response bytes go: the client's ServerConnection for the proxy."""

    PAUSE_UPSTREAM: int

    @property
    def transport(self) -> _Writer: ...

    def pause_read(self, reason: int) -> None: ...

    def resume_read(self, reason: int) -> None: ...


class Sink(Protocol):
    """What a pooled connection serves: one request and the fate of its response.
    `Exchange` relays it to a client; `client.Collect` keeps it for its caller."""

    activity: int
    status: int
    resp_started: bool
    close_after: bool
    task: asyncio.Task[Any] | None

    @property
    def conn(self) -> Downstream: ...

    @property
    def keep_alive(self) -> bool: ...

    @property
    def is_head(self) -> bool: ...

    @property
    def finished(self) -> bool: ...

    def attach(self, up: UpstreamConnection, head: bytes) -> None:
        """Take `up` (sets up.ex, up.in_head, up.complete) and write the request on it."""

    def retryable(self) -> bool:
        """May the request go again after a reused connection closed before answering?"""

    def retry(self) -> None: ...

    def tunnel(self, up: UpstreamConnection, data: bytes) -> None: ...

    def response_end(self, up: UpstreamConnection, keep: bool) -> None:
        """The response is complete: release `up` to its pool (if `keep`) or close it."""

    def fail(self, status: int, message: str) -> None: ...

    def finish(self) -> None: ...


class UpstreamPool:
    """Idle keep-alive connections to one upstream (host, port), most recently used first."""

    __slots__ = ("_connecting", "closed", "connect_timeout", "connection_class", "host", "idle",
                 "max_idle", "on_dial_error", "opened", "port", "write_high_water")

    def __init__(self, host: str, port: int, *, max_idle: int = 1024,
                 write_high_water: int = 256 * 1024, connect_timeout: float = 10.0,
                 connection_class: type[UpstreamConnection] | None = None) -> None:
        self.host = host
        # A subclass may wire more llhttp callbacks (client.py collects headers and body).
        self.connection_class = connection_class or UpstreamConnection
        self.connect_timeout = connect_timeout
        self.port = port
        self.max_idle = max_idle
        self.write_high_water = write_high_water
        self.idle: list[UpstreamConnection] = []
        self.opened = 0  # connections ever opened (tests read this to see reuse)
        self.closed = False
        # Called (with this pool and the exchange) when a dial fails, before the exchange
        # gets its 502. Nothing of the request was sent, so the callback may send it
        # elsewhere (`ex.redirect(other_pool)`) and return True; False keeps the 502. The
        # activator uses it to take a dead pod out of rotation and pick another one.
        self.on_dial_error: Callable[[UpstreamPool, Exchange], bool] | None = None
        # Dials in progress, held so the loop's weak references are not the only ones.
        self._connecting: set[asyncio.Task[None]] = set()

    def dispatch(self, ex: Sink, head: bytes) -> None:
        """Send `ex` on an idle connection now, or on a new one once it is connected."""
        idle = self.idle
        while idle:
            up = idle.pop()
            if up.transport is not None and not up.closed:
                ex.attach(up, head)
                return
        self.dial(ex, head)

    def dial(self, ex: Sink, head: bytes) -> None:
        """Send `ex` on a new connection once it is connected (`ex.task` while dialing)."""
        task = asyncio.get_running_loop().create_task(self._connect(ex, head))
        self._connecting.add(task)
        task.add_done_callback(self._connecting.discard)
        ex.task = task

    async def _connect(self, ex: Sink, head: bytes) -> None:
        loop = asyncio.get_running_loop()
        cls = self.connection_class
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, up = await loop.create_connection(lambda: cls(self), self.host, self.port)
        except TimeoutError:
            ex.task = None
            if not self._dial_failed(ex):
                ex.fail(502, f"dial tcp {self.host}:{self.port}: i/o timeout")
            return
        except OSError as e:
            ex.task = None
            if not self._dial_failed(ex):
                ex.fail(502, f"dial tcp {self.host}:{self.port}: {e.strerror or e}")
            return
        ex.task = None
        self.opened += 1
        if ex.finished:
            self.release(up)
        else:
            ex.attach(up, head)

    def _dial_failed(self, ex: Sink) -> bool:
        """True if on_dial_error took the exchange over."""
        cb = self.on_dial_error
        if cb is None or ex.finished:
            return False
        try:
            # Only pools that serve Exchanges set the callback (the activator's).
            return bool(cb(self, cast("Exchange", ex)))
        except Exception:
            log.exception("on_dial_error callback failed")
            return False

    def release(self, up: UpstreamConnection) -> None:
        """Return a connection whose last response completed cleanly."""
        if up.closed or self.closed or len(self.idle) >= self.max_idle:
            up.close()
            return
        up.reused = True
        if up.reading_paused:
            up.reading_paused = False
            up.transport.resume_reading()  # so we notice when the upstream closes it
        self.idle.append(up)

    def _lost(self, up: UpstreamConnection) -> None:
        try:
            self.idle.remove(up)
        except ValueError:
            pass

    def close(self) -> None:
        """Close idle connections and refuse to keep more. Requests in flight finish,
        including those still dialing: their connection is used once, then closed (a pod
        the activator drops is still draining and answers them; cancelling the dial would
        leave the request unanswered until its timeout)."""
        self.closed = True
        for up in self.idle:
            up.close()
        self.idle.clear()


class UpstreamConnection(asyncio.Protocol):
    """One TCP connection to the upstream, framing responses for the sink it serves.
    llhttp calls back only `on_message_complete` (the proxy relays raw bytes)."""

    __slots__ = ("buf", "closed", "complete", "ex", "in_head", "keep", "parser", "pool",
                 "reading_paused", "reused", "transport", "upgraded")

    # False for a subclass whose sink keeps the response instead of relaying it: the head
    # then needs no hop-by-hop rewriting.
    relays = True

    def __init__(self, pool: UpstreamPool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.parser = httptools.HttpResponseParser(self)
        self.ex: Sink | None = None
        self.buf = b""
        self.in_head = True
        self.complete = False
        self.upgraded = False
        self.closed = False
        self.reused = False
        self.reading_paused = False
        self.keep = False

    # -- llhttp callback (the only one wired: we need to know where a message ends)
    def on_message_complete(self) -> None:
        self.complete = True
        if self.in_head:
            # A body-less message (204, 304, Content-Length: 0) ends within its head, and
            # llhttp resets its keep-alive flag right after this call: read it now.
            self.keep = self.parser.should_keep_alive()

    # -- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # a stream: loop.create_connection
        self.transport.set_write_buffer_limits(high=self.pool.write_high_water)

    def data_received(self, data: bytes) -> None:
        ex = self.ex
        if ex is None:  # bytes nobody asked for: the connection is no longer usable
            self.close()
            return
        ex.activity += 1
        if self.upgraded:
            ex.conn.transport.write(data)
            return
        if self.in_head:
            self._head(ex, data)
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            ex.conn.transport.write(data)
            self._broken(ex)
            return
        ex.conn.transport.write(data)
        if self.complete:
            self._done(ex)

    def _head(self, ex: Sink, data: bytes) -> None:
        if self.buf:
            data = self.buf + data
            self.buf = b""
        end = data.find(b"\r\n\r\n")
        if end < 0:
            if len(data) > MAX_HEAD:
                self.abandon()
                ex.fail(502, "upstream response head too large")
            else:
                self.buf = data
            return
        end += 4
        head = data[:end]
        try:
            self.parser.feed_data(head)
        except httptools.HttpParserUpgrade:
            # 101 Switching Protocols: relay it verbatim and become a byte tunnel.
            self.in_head = False
            self.upgraded = True
            ex.tunnel(self, data)
            return
        except httptools.HttpParserError:
            self.abandon()
            ex.fail(502, "malformed response from upstream")
            return
        status = self.parser.get_status_code()
        if status < 200:
            # Interim response (100 Continue, 103 Early Hints): relay, then expect the real one.
            self.complete = False
            ex.conn.transport.write(head)
            rest = data[end:]
            if rest:
                self._head(ex, rest)
            return
        self.in_head = False
        ex.status = status
        ex.resp_started = True
        # llhttp forgets this once the message completes, so read it at the head (or, for
        # one that completed within its head, in on_message_complete).
        if not self.complete:
            self.keep = self.parser.should_keep_alive()
        keep = self.keep
        close = ex.close_after or not ex.keep_alive
        if not close and not keep and not _FRAMED_RE.search(head):
            close = True  # body ends at EOF, so the client learns its end only by a close
            ex.close_after = True
        if self.relays:
            head = http.rewrite_response_head(head, close)
        if ex.is_head:
            # llhttp cannot be told the request was HEAD; the response has no body anyway.
            self.complete = True
            self.parser = httptools.HttpResponseParser(self)
            ex.conn.transport.write(head)
            self._done(ex, keep)
            return
        rest = data[end:]
        if rest:
            try:
                self.parser.feed_data(rest)
            except httptools.HttpParserError:
                ex.conn.transport.write(head + rest)
                self._broken(ex)
                return
            ex.conn.transport.write(head + rest)
        else:
            ex.conn.transport.write(head)
        if self.complete:
            self._done(ex)

    def _done(self, ex: Sink, keep: bool | None = None) -> None:
        if keep is None:
            keep = self.keep
        self.ex = None
        self.in_head = True
        self.complete = False
        ex.response_end(self, keep)

    def _broken(self, ex: Sink) -> None:
        """The upstream sent bytes llhttp rejects mid-body: cut both connections."""
        self.abandon()
        ex.close_after = True
        ex.finish()

    def abandon(self) -> None:
        """Its sink gives it up mid-request: no byte of it may reach another request."""
        self.ex = None
        self.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.pool._lost(self)
        ex = self.ex
        if ex is None:
            return
        self.ex = None
        if self.upgraded:
            ex.finish()
            return
        if not ex.resp_started:
            if self.reused and not self.buf and ex.retryable():
                # A reused keep-alive connection the upstream had just closed before
                # answering: the sink says whether sending the request again is safe.
                ex.retry()
                return
            ex.fail(502, "upstream closed the connection before responding")
            return
        # Mid-body: either the body was delimited by the close, or it was cut short. In
        # both cases the client can only learn where it ends by our closing its connection.
        ex.close_after = True
        ex.finish()

    def pause_writing(self) -> None:
        ex = self.ex
        if ex is not None:
            ex.conn.pause_read(ex.conn.PAUSE_UPSTREAM)

    def resume_writing(self) -> None:
        ex = self.ex
        if ex is not None:
            ex.conn.resume_read(ex.conn.PAUSE_UPSTREAM)

    # -- control from the client side
    def pause_reading(self) -> None:
        if not self.reading_paused and not self.closed:
            self.reading_paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.reading_paused and not self.closed:
            self.reading_paused = False
            self.transport.resume_reading()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()
