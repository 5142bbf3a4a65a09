"""Client side: the listening Protocol that parses requests with llhttp and drives exchanges.

Per request the work is a handful of llhttp callbacks (URL, each header, end of head/body),
one `Exchange` object and one joined head for the upstream. Header lines that need no change
pass through as the bytes llhttp gave us. Reading stops (pause_reading) whenever somewhere
downstream is full, so memory stays bounded whatever the body size.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, cast

import httptools

from knpy.runtime.proxy import http
from knpy.runtime.proxy.exchange import DONE, TUNNEL, Exchange
from knpy.runtime.proxy.options import ProxyOptions
from knpy.runtime.proxy.upstream import UpstreamConnection

if TYPE_CHECKING:
    import ssl

log = logging.getLogger(__name__)

_KINDS = http.REQUEST_HEADER_KINDS
_H_HOST = http.H_HOST
_BAD_REQUEST = http.error_response(400, "bad request", close=True)
_HEAD_TOO_LARGE = http.error_response(431, "request header fields too large", close=True)
_HEAD_TIMEOUT = http.error_response(408, "request header timeout", close=True)
_NO_HOST = http.error_response(400, "missing required Host header", close=True)
_MANY_HOSTS = http.error_response(400, "too many Host headers", close=True)
_BAD_TARGET = http.error_response(400, "malformed request target", close=True)
_CONNECT = http.response(405, b"CONNECT is not supported\n", close=True, headers=(
    b"Allow: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, TRACE\r\n"
    b"X-Content-Type-Options: nosniff\r\n"))
# Longest request head (request line + headers) accepted; llhttp itself sets no limit.
MAX_REQUEST_HEAD = 64 * 1024
# While draining, a keep-alive connection with no request for this long is closed; one that
# carries a request meanwhile is answered with `Connection: close` instead.
DRAIN_IDLE = 1.0
# How long a refused connection's input is still read and dropped before closing (Go 0.5 s).
_LINGER = 0.5


class _Refused(Exception):
    """Raised in an llhttp callback to stop parsing; `bad_response` is the answer."""


class Handler(Protocol):
    """What a component plugs into the core: decide what to do with each request head."""

    def handle(self, ex: Exchange) -> None: ...


class Tracer(Protocol):
    """Request tracing plugged into the core: one span per exchange."""

    def start(self, ex: Exchange) -> None: ...

    def end(self, ex: Exchange, span: Any) -> None: ...


class ServerConnection(asyncio.Protocol):
    """One client connection: HTTP/1.1 keep-alive, pipelining, upgrades."""

    PAUSE_UPSTREAM = 1  # the upstream socket's send buffer is full
    PAUSE_BUFFER = 2  # a waiting request holds as much body as we allow
    PAUSE_PIPELINE = 4  # a pipelined request waits for the one before it

    __slots__ = ("bad_response", "broken", "current", "forwarded_elem", "head_size", "kept",
                 "kept_lines", "line", "measuring", "parser", "parsing", "paused_up", "peer",
                 "pending", "read_pauses", "server", "since", "slow", "transport", "tunnel",
                 "write_paused", "xff_line")
    # What each request becomes; runtime.proxy.app plugs in its body-reading Request here.
    exchange_type: type[Exchange] = Exchange

    def __init__(self, server: Server) -> None:
        self.server = server
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.parser: httptools.HttpRequestParser | None = httptools.HttpRequestParser(self)
        self.peer = b""
        self.xff_line = b""
        self.forwarded_elem = b""
        self.current: Exchange | None = None  # the exchange whose response is being sent
        self.parsing: Exchange | None = None  # the exchange whose request is being read
        self.pending: deque[Exchange] | None = None  # pipelined, waiting for `current`
        self.read_pauses = 0
        self.paused_up: UpstreamConnection | None = None
        self.write_paused = False  # our send buffer to the client is above high water
        self.tunnel: UpstreamConnection | None = None
        self.broken = False
        self.bad_response = _BAD_REQUEST
        # The request head budget. A head that begins and ends within one read no longer
        # than MAX_REQUEST_HEAD needs no counting (the usual case, kept free of work);
        # heads that span reads, and every head in a longer read, are measured.
        self.head_size = -1  # -1 between heads; >= 0 while one is open (its size, measured)
        self.slow = False  # measure each head that completes in this read
        self.line = 0  # bytes of a head line llhttp holds unfinished (not in head_size)
        self.measuring: Exchange | None = None  # whose kept lines `kept` sums so far
        self.kept = 0
        self.kept_lines = 0
        self.since = server.now  # coarse time the current head began, or idling began

    # ------------------------------------------------------------------ asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # a stream: loop.create_server
        self.transport.set_write_buffer_limits(
            high=self.server.options.write_high_water)
        peer = transport.get_extra_info("peername")
        ip = (peer[0] if isinstance(peer, tuple) else "unix").encode()
        self.peer = ip
        self.xff_line = b"X-Forwarded-For: %s\r\n" % ip
        node = b'"[%s]"' % ip if b":" in ip else ip
        self.forwarded_elem = b"for=%s;proto=%s" % (node, self.server.options.scheme)
        self.server.connections.add(self)
        self.server.watch_connections()

    def data_received(self, data: bytes) -> None:
        tunnel = self.tunnel
        if tunnel is not None:
            tunnel.transport.write(data)
            if self.current is not None:
                self.current.activity += 1
            return
        parser = self.parser
        if parser is None:  # upgrade requested, upstream has not answered yet
            if self.parsing is not None:
                self.parsing.body_chunk(data)
            return
        try:
            if self.head_size < 0 and len(data) <= MAX_REQUEST_HEAD:
                parser.feed_data(data)  # every head completed here is shorter than the read
                if self.head_size >= 0:  # one is left open: from the next read on, measure
                    self.line = 0
            else:
                self._feed_measured(parser, data)
        except httptools.HttpParserUpgrade as e:
            if self.parsing is None or not self.parsing.upgrade:
                self._bad_request()  # CONNECT: not a tunnel this proxy offers
                return
            self.parser = None
            rest = data[e.args[0]:]
            if rest:
                self.parsing.body_chunk(rest)
        except httptools.HttpParserError:
            self._bad_request()

    def _feed_measured(self, parser: httptools.HttpRequestParser, data: bytes) -> None:
        """Feed a read that a head spans into, or that is longer than a head may be."""
        ex = self.parsing
        was_open = self.head_size >= 0
        self.slow = True
        try:
            parser.feed_data(data)
        finally:
            self.slow = False
        if self.head_size < 0 or self.parser is None:
            return
        if was_open and self.parsing is ex:
            # The whole read belongs to one unfinished head. llhttp hands over a header
            # line only once it ends, so bound the line still open here.
            nl = data.rfind(b"\n")
            self.line = len(data) - nl - 1 if nl >= 0 else self.line + len(data)
        else:
            self.line = 0
        self.head_size = self._head_bytes(self.parsing)  # type: ignore[arg-type]
        if self.head_size > MAX_REQUEST_HEAD or self.line > MAX_REQUEST_HEAD:
            self.bad_response = _HEAD_TOO_LARGE
            self._bad_request()

    def _head_bytes(self, ex: Exchange) -> int:
        """Bytes of `ex`'s head parsed so far: its target and the header lines llhttp has
        handed over (hop-by-hop ones that are dropped, unkept, are not counted)."""
        if self.measuring is not ex:
            self.measuring = ex
            self.kept = self.kept_lines = 0
        lines = ex.lines
        for i in range(self.kept_lines, len(lines)):  # only lines added since last time
            self.kept += len(lines[i])
        self.kept_lines = len(lines)
        return (self.kept + len(ex.url) + len(ex.connection) + len(ex.upgrade) + len(ex.xff)
                + len(ex.forwarded) + len(ex.original_host))

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        if self.tunnel is not None:
            self.tunnel.close()
            self.tunnel = None
        pending = self.pending
        self.pending = None
        if pending:
            for ex in pending:
                ex.abort()
        if self.current is not None:
            self.current.abort()
        self.current = None
        self.parsing = None

    def pause_writing(self) -> None:
        # The client reads slower than the upstream writes: stop reading the upstream.
        self.write_paused = True
        up = self.tunnel
        if up is None and self.current is not None:
            up = self.current.up
        if up is not None:
            up.pause_reading()
            self.paused_up = up

    def resume_writing(self) -> None:
        self.write_paused = False
        up = self.paused_up
        if up is not None:
            self.paused_up = None
            up.resume_reading()

    # ------------------------------------------------------------------ llhttp callbacks
    def on_message_begin(self) -> None:
        self.parsing = self.exchange_type(self)
        self.head_size = 0
        self.since = self.server.now

    def on_url(self, url: bytes) -> None:
        ex: Exchange = self.parsing  # type: ignore[assignment]  # set by on_message_begin
        ex.url = ex.url + url if ex.url else url

    def on_header(self, name: bytes, value: bytes) -> None:
        # set by on_message_begin; a cast() would cost a call per header
        ex: Exchange = self.parsing  # type: ignore[assignment]
        kind = _KINDS.get(name.lower())
        if kind is None:
            ex.lines.append(b"%s: %s\r\n" % (name, value))
        elif kind == _H_HOST:  # every HTTP/1.1 request has one
            ex.lines.append(b"%s: %s\r\n" % (name, value))
            if ex.host is not None:
                self._refuse(_MANY_HOSTS)
            ex.host = value
        elif kind <= http.H_HOP:
            if kind == http.H_CONNECTION:
                ex.connection = ex.connection + b"," + value if ex.connection else value
            elif kind == http.H_UPGRADE:
                ex.upgrade = value
            elif kind == http.H_TRANSFER_ENCODING:
                ex.chunked = True  # llhttp rejects non-chunked TE
        elif kind == http.H_XFF:
            ex.xff = ex.xff + b", " + value if ex.xff else value
        elif kind == http.H_FORWARDED:
            ex.forwarded = ex.forwarded + b", " + value if ex.forwarded else value
        elif kind == http.H_ORIGINAL_HOST:
            ex.original_host = value
        else:
            line = b"%s: %s\r\n" % (name, value)
            ex.lines.append(line)
            if kind == http.H_PROBE:
                ex.probe = value
            elif kind == http.H_USER_AGENT:
                ex.user_agent = value
            elif kind == http.H_TRACEPARENT:  # so the tracer need not scan the head
                ex.traceparent = line if ex.traceparent is None else b""
            elif kind == http.H_PROXY_REQUEST:
                ex.proxied = value == b"activator"
            elif kind == http.H_HASH:
                ex.hash = value
            elif kind == http.H_KUBELET_PROBE:
                ex.kubelet_probe = True
            else:
                ex.has_xfp = True

    def on_headers_complete(self) -> None:
        ex: Exchange = self.parsing  # type: ignore[assignment]
        # The budget counts each head's own bytes, never the pipelined requests around it.
        if self.slow:
            if self._head_bytes(ex) > MAX_REQUEST_HEAD:
                self._refuse(_HEAD_TOO_LARGE)
            self.measuring = None
        self.head_size = -1
        parser: httptools.HttpRequestParser = self.parser  # type: ignore[assignment]
        ex.method = method = parser.get_method()
        ex.is_head = method == b"HEAD"
        if method == b"CONNECT":
            self._refuse(_CONNECT)  # not a tunnel this proxy offers (llhttp would join one)
        if parser.get_http_version() != "1.1":
            ex.version = b"HTTP/1.0"
        elif ex.host is None:
            self._refuse(_NO_HOST)  # RFC 9112 3.2, as Go's server answers
        if ex.url[0] != 47 and ex.url != b"*":  # 47: "/"
            self._origin_form(ex)
        ex.keep_alive = parser.should_keep_alive()
        if ex.connection:
            extra = http.extra_hop_names(ex.connection)
            if extra:
                ex.lines = http.drop_named(ex.lines, extra)
        if parser.should_upgrade() and ex.upgrade:
            ex.close_after = True  # after a refused upgrade we cannot parse this stream further
        else:
            ex.upgrade = b""
        if self.current is None:
            self._start(ex)
        else:
            if self.pending is None:
                self.pending = deque()
            self.pending.append(ex)
            self.pause_read(self.PAUSE_PIPELINE)

    def on_body(self, body: bytes) -> None:
        ex = self.parsing
        if ex is None:
            return
        ex.has_body = True
        if ex.chunked:
            ex.body_chunk(b"%x\r\n%s\r\n" % (len(body), body))
        else:
            ex.body_chunk(body)

    def on_message_complete(self) -> None:
        ex = self.parsing
        if ex is not None:
            ex.request_end()

    def _refuse(self, response: bytes) -> None:
        self.bad_response = response
        raise _Refused

    def _origin_form(self, ex: Exchange) -> None:
        """An absolute-form target (`GET http://host:port/path`): forward origin-form, with
        the target's authority as Host (RFC 9112 3.2.2: it overrides the Host header)."""
        try:
            u = httptools.parse_url(ex.url)
        except httptools.HttpParserInvalidURLError:
            self._refuse(_BAD_TARGET)
        if not u.host or u.schema is None:
            self._refuse(_BAD_TARGET)
        ex.url = (u.path or b"/") + (b"?" + u.query if u.query else b"")
        host = b"[%s]" % u.host if b":" in u.host else u.host
        ex.host = host + b":%d" % u.port if u.port else host
        ex.set_header(b"Host", ex.host)

    # ------------------------------------------------------------------ exchange plumbing
    def _start(self, ex: Exchange) -> None:
        self.current = ex
        if self.server.closing:
            ex.close_after = True  # draining: this connection ends after this response
        server = self.server
        server.track(ex)
        tracer = server.tracer
        if tracer is not None:  # tracing off costs this one check per request
            try:
                tracer.start(ex)
            except Exception:
                log.exception("proxy tracer failed")
        try:
            server.handler.handle(ex)
        except Exception:
            log.exception("proxy handler failed")
            ex.fail(500, "internal error")

    def exchange_finished(self, ex: Exchange) -> None:
        if ex is not self.current:
            return
        self.current = None
        self.since = self.server.now
        # Whatever this exchange paused is over: its upstream is back in the pool (which
        # resumed it) or closed, and the next exchange starts with a clean slate.
        self.paused_up = None
        if self.read_pauses & (self.PAUSE_UPSTREAM | self.PAUSE_BUFFER):
            self.resume_read(self.PAUSE_UPSTREAM | self.PAUSE_BUFFER)
        if self.tunnel is not None:
            self.tunnel = None
            self.transport.close()
            return
        if ex.close_after or not ex.keep_alive:
            self.transport.close()
            return
        pending = self.pending
        if pending:
            nxt = pending.popleft()
            if not pending:
                self.resume_read(self.PAUSE_PIPELINE)
            self._start(nxt)
        elif self.broken:
            self.refuse_and_close(self.bad_response)

    def _bad_request(self) -> None:
        self.parser = None
        self.parsing = None  # whatever follows is dropped, never sent as someone's body
        self.broken = True
        self.head_size = -1
        if self.current is None:
            self.refuse_and_close(self.bad_response)
        else:
            # Complete requests pipelined before the bad one are still answered, in order;
            # the error follows them (exchange_finished).
            pending = self.pending
            if pending:
                self.pending = deque(ex for ex in pending if ex.req_done)
                for ex in pending:
                    if not ex.req_done:
                        ex.abort()
            if not self.current.req_done:  # its own body was malformed (e.g. chunk framing)
                self.current.fail(400, "bad request")

    def refuse_and_close(self, response: bytes) -> None:
        """Send an error and close without losing it to a reset: closing a socket that still
        has unread input makes the kernel send RST, which can destroy the response before
        the client reads it (a client still sending a big head, or pipelining). Like Go's
        server: send, half-close, discard input, close after _LINGER s or the client's EOF."""
        t = self.transport
        self.parser = None
        self.parsing = None
        t.write(response)
        try:
            t.write_eof()
        except (NotImplementedError, RuntimeError):
            t.close()
            return
        self.read_pauses = 0
        with contextlib.suppress(RuntimeError):
            t.resume_reading()
        asyncio.get_running_loop().call_later(_LINGER, t.close)

    def pause_read(self, reason: int) -> None:
        if not self.read_pauses:
            with contextlib.suppress(RuntimeError):
                self.transport.pause_reading()
        self.read_pauses |= reason

    def resume_read(self, reason: int) -> None:
        if self.read_pauses & reason:
            self.read_pauses &= ~reason
            if not self.read_pauses and not self.transport.is_closing():
                with contextlib.suppress(RuntimeError):
                    self.transport.resume_reading()


class Server:
    """Shared state of one proxy: handler, options, and tracking for timeouts and drain."""

    # The Protocol of each accepted connection (runtime.proxy.app serves local apps).
    connection_type: type[ServerConnection] = ServerConnection

    def __init__(self, handler: Handler, options: ProxyOptions | None = None) -> None:
        self.handler = handler
        # Request tracing (runtime.observability.tracing.proxy_tracer): start(ex) before the
        # handler, end(ex, span) when the exchange ends; None = tracing off.
        self.tracer: Tracer | None = None
        self.options = options or ProxyOptions()
        self.connections: set[ServerConnection] = set()
        self.active: set[Exchange] = set()
        self.tunnels: set[Exchange] = set()
        self.closing = False
        self.requests = 0  # exchanges started, ever
        self.last_request = 0.0  # loop.time() of the latest exchange start
        self._listeners: list[asyncio.AbstractServer] = []
        self._sweeper: asyncio.TimerHandle | None = None
        self._reaper: asyncio.TimerHandle | None = None
        self.now = 0.0  # loop time, refreshed once a second by the connection reaper
        self._idle_waiters: list[asyncio.Future[None]] = []
        self._time: Callable[[], float] | None = None
        self._tick = self.options.timeouts.tick  # sweep period

    async def listen(self, host: str | None, port: int, *, backlog: int = 1024,
                     ssl: ssl.SSLContext | None = None) -> int:
        """Listen on host:port (0 = any free port, None = every address); returns the port.
        With `ssl`, connections are TLS: certificates loaded into that context later
        (a rotation) are presented by the handshakes after it. A TLS handshake must end
        within `header_timeout` (asyncio's own limit; the head timeout starts after it)."""
        loop = asyncio.get_running_loop()
        self._time = loop.time
        handshake = (self.options.header_timeout or None) if ssl is not None else None
        srv = await loop.create_server(lambda: self.connection_type(self), host, port,
                                       backlog=backlog, reuse_address=True, ssl=ssl,
                                       ssl_handshake_timeout=handshake)
        self._listeners.append(srv)
        return srv.sockets[0].getsockname()[1]

    # -- tracking
    def track(self, ex: Exchange) -> None:
        now = self._time() if self._time is not None else asyncio.get_running_loop().time()
        ex.t0 = now
        ex.idle_since = now
        self.requests += 1
        self.last_request = now
        self.active.add(ex)
        if self._sweeper is None and self.options.timeouts.enabled:
            self._schedule_sweep()

    def watch_timeouts(self, limit: float) -> None:
        """An exchange has its own limit (Exchange.set_timeout): make sure the sweep runs,
        often enough for that limit."""
        if limit < self._tick * 10:  # rare: the sweep must run more often
            self._tick = max(0.02, limit / 10)
        if self._sweeper is None:
            self._schedule_sweep()

    def untrack(self, ex: Exchange) -> None:
        self.active.discard(ex)
        self.tunnels.discard(ex)
        if self._idle_waiters and not self.active and not self.tunnels:
            for fut in self._idle_waiters:
                if not fut.done():
                    fut.set_result(None)
            self._idle_waiters.clear()

    def to_tunnel(self, ex: Exchange) -> None:
        """An upgraded connection: no request timeouts any more, but drain still waits."""
        self.active.discard(ex)
        self.tunnels.add(ex)

    @property
    def inflight(self) -> int:
        return len(self.active) + len(self.tunnels)

    # -- timeouts: one periodic sweep instead of a timer per request
    def _schedule_sweep(self) -> None:
        loop = asyncio.get_running_loop()
        self._sweeper = loop.call_later(self._tick, self._sweep)

    def _sweep(self) -> None:
        self._sweeper = None
        t = self.options.timeouts
        now = asyncio.get_running_loop().time()
        for ex in list(self.active):
            if ex.state == DONE or ex.state == TUNNEL:
                continue
            if t.idle:
                if ex.activity != ex.seen_activity:
                    ex.seen_activity = ex.activity
                    ex.idle_since = now
                elif now - ex.idle_since >= t.idle:
                    ex.time_out("idle", t.message)
                    continue
            if ex.resp_started:
                continue  # as in Knative, only the idle limit applies once a response started
            if ex.limit:
                if now - ex.t0 >= ex.limit:
                    ex.time_out("total", ex.limit_message)
            elif t.total and now - ex.t0 >= t.total:
                ex.time_out("total", t.message)
            elif t.response_start and now - ex.t0 >= t.response_start:
                ex.time_out("response_start", t.message)
        if self.active:
            self._schedule_sweep()

    # -- slow and idle client connections: one coarse check a second, no per-request timers
    def watch_connections(self) -> None:
        o = self.options
        if self._reaper is None and (o.header_timeout > 0 or o.keepalive_timeout > 0):
            loop = asyncio.get_running_loop()
            self.now = loop.time()
            self._reaper = loop.call_later(1.0, self._reap)

    def _reap(self) -> None:
        self._reaper = None
        if not self.connections:
            return
        o = self.options
        now = self.now = asyncio.get_running_loop().time()
        for c in list(self.connections):
            if c.current is not None or c.tunnel is not None or c.transport.is_closing():
                continue
            if c.head_size >= 0:
                if o.header_timeout and now - c.since > o.header_timeout:
                    c.head_size = -1
                    c.parser = None
                    c.refuse_and_close(_HEAD_TIMEOUT)
            elif o.keepalive_timeout and now - c.since > o.keepalive_timeout:
                c.transport.close()
        self.watch_connections()

    # -- shutdown
    def stop_listening(self) -> None:
        for srv in self._listeners:
            srv.close()

    async def wait_idle(self, limit: float | None = None) -> bool:
        """Wait until no exchange or tunnel is in flight; False on timeout."""
        if not self.active and not self.tunnels:
            return True
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._idle_waiters.append(fut)
        try:
            async with asyncio.timeout(limit):
                await fut
        except TimeoutError:
            return False
        return True

    async def close(self, grace: float = 0.0) -> None:
        """Stop accepting and drain for up to `grace` s, then cut whatever is left.

        Draining answers every request already sent: exchanges in flight finish, responses
        from now on say `Connection: close` and their connection closes after them, and a
        keep-alive connection is closed only once it has carried no request for
        DRAIN_IDLE s (closing it sooner would reset a request the client may be sending
        right then). With grace 0, idle connections are closed and the rest cut at once."""
        self.closing = True
        self.stop_listening()
        loop = asyncio.get_running_loop()
        self.now = now = loop.time()
        for c in list(self.connections):
            if c.current is not None and not c.current.resp_started:
                c.current.close_after = True  # its response will say Connection: close
            elif c.current is None and c.tunnel is None and c.head_size < 0:
                # `since` lags by up to the reaper's 1 s period (and means nothing without
                # the reaper): close at once only what has surely been idle long enough.
                if grace > 0 and (self._reaper is None or now - c.since < DRAIN_IDLE + 1.0):
                    c.since = now  # its idle time counts from here
                else:
                    c.transport.close()
        deadline = now + grace
        while self.connections and now < deadline:
            await asyncio.sleep(0.05)
            self.now = now = loop.time()
            for c in list(self.connections):
                if (c.current is None and c.tunnel is None and c.head_size < 0
                        and now - c.since >= DRAIN_IDLE):
                    c.transport.close()
        for c in list(self.connections):
            c.transport.abort()
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None
        for srv in self._listeners:
            await srv.wait_closed()
        self._listeners.clear()
