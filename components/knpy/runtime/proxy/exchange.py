"""One request/response exchange as the proxy core sees it, from head to last byte.

The handler (queue-proxy, activator, ingress) gets an `Exchange` once the request head has
been parsed and decides with one call: `reply(...)` answers locally, `forward(pool)` proxies,
`defer(coro)` waits for something (a breaker slot, a ready pod) and then does one of those.
The core guarantees `on_done(ex)` runs exactly once, however the exchange ends (response
complete, error, timeout, client gone), so a handler can release its breaker slot there.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from knpy.runtime.proxy import http

if TYPE_CHECKING:
    from knpy.runtime.proxy.server import ServerConnection
    from knpy.runtime.proxy.upstream import UpstreamConnection, UpstreamPool

log = logging.getLogger(__name__)

# Exchange.state
NEW, WAITING, FORWARDING, LOCAL, TUNNEL, DONE = range(6)

_XFP_LINE = b"X-Forwarded-Proto: %s\r\n"


class Exchange:
    """A request head plus the state of relaying its body and its response."""

    __slots__ = (
        "activity",
        "body",
        "body_len",
        "chunked",
        "close_after",
        "conn",
        "connection",
        "error",
        "forwarded",
        "has_body",
        "has_xfp",
        "hash",
        "head",
        "host",
        "idle_since",
        "is_head",
        "keep_alive",
        "kubelet_probe",
        "limit",
        "limit_message",
        "lines",
        "method",
        "on_done",
        "original_host",
        "pool",
        "probe",
        "proxied",
        "req_done",
        "resp_started",
        "seen_activity",
        "span",
        "state",
        "status",
        "t0",
        "task",
        "traceparent",
        "up",
        "upgrade",
        "url",
        "user",
        "user_agent",
        "version",
        "xff",
    )

    def __init__(self, conn: ServerConnection) -> None:
        self.conn = conn
        self.method = b""
        self.url = b""
        self.version = b"HTTP/1.1"
        self.lines: list[bytes] = []  # raw `Name: value\r\n` lines kept for the upstream
        self.connection = b""
        self.upgrade = b""
        self.chunked = False
        self.has_body = False
        self.probe = b""
        self.hash = b""
        self.kubelet_probe = False  # K-Kubelet-Probe present
        self.user_agent = b""
        # the `traceparent` line as kept in `lines` (b"" if repeated), for the tracer
        self.traceparent: bytes | None = None
        self.proxied = False  # K-Proxy-Request: activator
        self.xff = b""
        self.forwarded = b""
        self.has_xfp = False
        self.original_host = b""  # K-Original-Host (dropped from the forwarded lines)
        self.host: bytes | None = None  # the Host header (kept in `lines` too); None: absent
        self.keep_alive = True
        self.is_head = False
        self.state = NEW
        self.req_done = False
        self.resp_started = False
        self.close_after = False
        self.status = 0
        self.error = ""  # why the core ended it early: "idle", "total", "upstream", ...
        self.body: list[bytes] | None = None  # request body held until an upstream is attached
        self.body_len = 0
        self.up: UpstreamConnection | None = None
        self.pool: UpstreamPool | None = None
        self.head = b""
        self.task: asyncio.Task[Any] | None = None
        self.on_done: Callable[[Exchange], None] | None = None
        self.user: Any = None  # handler's own per-request state
        self.t0 = 0.0
        self.limit = 0.0  # this exchange's own total timeout (set_timeout); 0 = the server's
        self.limit_message = b""
        self.activity = 0
        self.seen_activity = 0
        self.idle_since = 0.0
        self.span: Any = None  # set by the server's tracer when tracing is on

    # ------------------------------------------------------------------ for handlers
    @property
    def finished(self) -> bool:
        return self.state == DONE

    @property
    def peer(self) -> bytes:
        return self.conn.peer

    def path(self) -> bytes:
        """The request target without its query string."""
        return self.url.split(b"?", 1)[0]

    def header(self, name: bytes) -> bytes | None:
        """Slow lookup of a header kept for the upstream (case-insensitive); None if absent."""
        name = name.lower()
        for ln in self.lines:
            k, _, v = ln.partition(b":")
            if k.strip().lower() == name:
                return v.strip()
        return None

    def set_header(self, name: bytes, value: bytes) -> None:
        """Replace every header `name` (case-insensitive) kept for the upstream with one."""
        self.lines = http.drop_named(self.lines, frozenset({name.lower()}))
        self.lines.append(b"%s: %s\r\n" % (name, value))

    def set_timeout(self, total: float, message: bytes) -> None:
        """Give this exchange its own total limit in seconds from its start (instead of the
        server's `Timeouts.total`): past it, before the response starts, the client gets
        504 `message` and on_done runs (the activator's per-revision timeoutSeconds)."""
        if total > 0:
            self.limit = total
            self.limit_message = message
            self.conn.server.watch_timeouts(total)

    def reply(self, status: int, body: bytes = b"", *,
              content_type: bytes = b"text/plain; charset=utf-8", headers: bytes = b"") -> None:
        """Answer locally. Any request body still arriving is read and discarded."""
        self.respond_raw(http.response(status, body, content_type=content_type,
                                       headers=headers, close=not self.keep_alive))

    def respond_raw(self, data: bytes) -> None:
        """Answer locally with a complete raw response (e.g. a prebuilt constant)."""
        if self.state >= LOCAL:
            return
        self.state = LOCAL
        self.resp_started = True
        if not self.status:
            self.status = int(data[9:12])
        if self.close_after:  # the connection closes after this: say so
            data = http.with_close(data)
        self.body = None
        self.conn.resume_read(self.conn.PAUSE_BUFFER)
        self.conn.transport.write(data)
        if self.req_done:
            self.finish()

    def forward(self, pool: UpstreamPool, extra: bytes = b"") -> None:
        """Proxy to `pool`'s upstream; `extra` holds raw header lines to add."""
        if self.state >= FORWARDING:
            return
        self.state = FORWARDING
        self.pool = pool
        conn = self.conn
        opts = conn.server.options
        fwd = b""
        if opts.x_forwarded_for:
            fwd = (b"X-Forwarded-For: %s, %s\r\n" % (self.xff, conn.peer) if self.xff
                   else conn.xff_line)
        elif self.xff:
            fwd = b"X-Forwarded-For: %s\r\n" % self.xff
        if opts.x_forwarded_proto and not self.has_xfp:
            fwd += _XFP_LINE % opts.scheme
        if self.forwarded:
            if opts.forwarded == "off":
                fwd += b"Forwarded: %s\r\n" % self.forwarded
            else:
                fwd += b"Forwarded: %s, %s\r\n" % (self.forwarded, conn.forwarded_elem)
        elif opts.forwarded == "always":
            fwd += b"Forwarded: %s\r\n" % conn.forwarded_elem
        if self.upgrade:
            fwd += b"Connection: Upgrade\r\nUpgrade: %s\r\n" % self.upgrade
        elif self.chunked:
            fwd += b"Transfer-Encoding: chunked\r\n"
        head = b"%s %s %s\r\n%s%s%s\r\n" % (self.method, self.url, self.version,
                                             b"".join(self.lines), fwd, extra)
        self.head = head
        pool.dispatch(self, head)

    def defer(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run `coro`, which must end in reply() or forward(); cancelled if the client leaves."""
        self.state = WAITING
        task = asyncio.get_running_loop().create_task(coro)
        self.task = task
        task.add_done_callback(self._deferred_done)

    def _deferred_done(self, task: asyncio.Task[None]) -> None:
        if self.task is task:
            self.task = None
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("proxy handler failed", exc_info=exc)
            self.fail(500, "internal error")
        elif self.state == WAITING:
            log.error("proxy handler returned without answering %r", self.url)
            self.fail(500, "internal error")

    # ------------------------------------------------------------------ core internals
    def body_chunk(self, chunk: bytes) -> None:
        """A piece of request body (already framed for the upstream)."""
        self.activity += 1
        up = self.up
        if up is not None:
            up.transport.write(chunk)
        elif self.state < LOCAL:
            if self.body is None:
                self.body = [chunk]
            else:
                self.body.append(chunk)
            self.body_len += len(chunk)
            if self.body_len > self.conn.server.options.body_buffer:
                self.conn.pause_read(self.conn.PAUSE_BUFFER)

    def request_end(self) -> None:
        self.req_done = True
        if self.chunked:
            self.body_chunk(b"0\r\n\r\n")
        if self.state == LOCAL:
            self.finish()

    def attach(self, up: UpstreamConnection, head: bytes) -> None:
        """Start sending on upstream connection `up` (from the pool or freshly dialled)."""
        self.up = up
        up.ex = self
        up.in_head = True
        up.complete = False
        conn = self.conn
        if conn.write_paused:  # the client is still behind on an earlier response
            up.pause_reading()
            conn.paused_up = up
        body = self.body
        if body:
            self.body = None
            self.body_len = 0
            up.transport.write(head + b"".join(body))
            self.conn.resume_read(self.conn.PAUSE_BUFFER)
        else:
            up.transport.write(head)

    def retryable(self) -> bool:
        """May this request be sent again after a reused upstream connection closed before
        answering? The upstream may have read (and acted on) it, so, as Go's transport
        decides: only a request that was nothing but its head, and only if its method is
        idempotent or it carries an Idempotency-Key."""
        return (self.req_done and not self.has_body and not self.chunked and not self.upgrade
                and self.state == FORWARDING
                and (self.method in http.IDEMPOTENT_METHODS
                     or self.header(b"idempotency-key") is not None
                     or self.header(b"x-idempotency-key") is not None))

    def retry(self) -> None:
        self.up = None
        assert self.pool is not None
        self.pool.dispatch(self, self.head)

    def redirect(self, pool: UpstreamPool) -> None:
        """Send the request to `pool` instead, head as already built. Only valid while no
        byte of it reached an upstream (from UpstreamPool.on_dial_error): the body read so
        far is still buffered here."""
        self.up = None
        self.pool = pool
        pool.dispatch(self, self.head)

    def response_end(self, up: UpstreamConnection, keep: bool) -> None:
        self.up = None
        # A refused upgrade may have sent the client's first frames after the head: never
        # reuse that connection.
        if keep and self.req_done and not self.upgrade and self.pool is not None:
            self.pool.release(up)
        else:
            up.close()
            if not self.req_done:
                self.close_after = True  # the client is still sending a body nobody reads
        self.finish()

    def tunnel(self, up: UpstreamConnection, data: bytes) -> None:
        """The upstream accepted an Upgrade: relay its 101 and join the two sockets."""
        self.state = TUNNEL
        self.status = 101
        self.resp_started = True
        conn = self.conn
        conn.transport.write(data)
        conn.server.to_tunnel(self)
        conn.tunnel = up
        if self.body:
            up.transport.write(b"".join(self.body))
            self.body = None
        conn.resume_read(conn.PAUSE_BUFFER)

    def fail(self, status: int, message: str) -> None:
        """End with an error: a status response if none started, else a cut connection."""
        if self.state == DONE:
            return
        if not self.error:
            self.error = message or str(status)
        up = self.up
        if up is not None:
            self.up = None
            up.abandon()
        if self.resp_started:
            self.close_after = True
        else:
            self.status = status
            self.resp_started = True
            self.close_after = self.close_after or not self.req_done or not self.keep_alive
            self.conn.transport.write(http.error_response(status, message,
                                                          close=self.close_after))
        self.finish()

    def time_out(self, kind: str, body: bytes) -> None:
        """A time limit expired: 504 with `body` if no response started, else cut it."""
        if self.state == DONE:
            return
        self.error = kind
        if self.resp_started:
            self.fail(504, "")
            return
        up = self.up
        if up is not None:
            self.up = None
            up.abandon()
        self.status = 504
        self.resp_started = True
        self.close_after = self.close_after or not self.req_done or not self.keep_alive
        self.conn.transport.write(http.response(504, body, close=self.close_after))
        self.finish()

    def abort(self) -> None:
        """The client went away: drop the upstream request and whatever is waiting."""
        if self.state == DONE:
            return
        self.close_after = True
        up = self.up
        if up is not None:
            self.up = None
            up.abandon()
        self.finish()

    def finish(self) -> None:
        if self.state == DONE:
            return
        self.state = DONE
        task = self.task
        if task is not None:
            self.task = None
            task.cancel()
        self.body = None
        conn = self.conn
        conn.server.untrack(self)
        span = self.span
        if span is not None:
            self.span = None
            tracer = conn.server.tracer  # set whenever a span is
            try:
                if tracer is not None:
                    tracer.end(self, span)
            except Exception:
                log.exception("proxy tracer failed")
        cb = self.on_done
        if cb is not None:
            self.on_done = None
            try:
                cb(self)
            except Exception:
                log.exception("proxy on_done callback failed")
        conn.exchange_finished(self)
