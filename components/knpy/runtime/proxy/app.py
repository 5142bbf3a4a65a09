"""Local HTTP applications on the proxy core: the request body is read (bounded) and an
application answers it, instead of the request being forwarded.

Listeners that are not proxies (the broker ingress) are served by this layer over the same
`Server`/`ServerConnection` as the proxies, so the core's limits hold there too: request
head size (431), head timeout (408), keep-alive idle timeout, pipelined requests answered
in order, and `Server.close(grace)` letting requests in flight finish. docs/dataplane.md.

An `App` answers in two steps: `head(req)` runs synchronously once the request head is in
(it may answer from the head alone with `req.reply`), then, if it did not, `respond(req)`
runs once the whole body is in (`req.payload()`), and must end in `req.reply`/`req.respond_raw`.
A body above `AppServer.max_body` is answered 413 without calling `respond`; one not
complete within `AppServer.body_timeout` of its head gets 408 and a closed connection.

A request may also be upgraded to another protocol on its connection (`websocket.accept`
does it): its `upgraded` object then gets every byte read, and is told when the server
drains.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from knpy.runtime.proxy import http
from knpy.runtime.proxy.exchange import LOCAL, NEW, Exchange
from knpy.runtime.proxy.options import ProxyOptions
from knpy.runtime.proxy.server import Server, ServerConnection

_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class Upgraded(Protocol):
    """What a request switched protocols to (a websocket): the connection's bytes from
    then on, and the server's drain."""

    def feed(self, data: bytes) -> None: ...

    def shutdown(self) -> None:
        """The server is draining: end soon, politely."""

    async def cancel(self) -> None:
        """The server has closed: stop whatever still runs, and wait for it."""


class Request(Exchange):
    """An exchange whose body is collected here (up to the server's `max_body`)."""

    __slots__ = ("content", "size", "started", "upgraded")

    def __init__(self, conn: ServerConnection) -> None:
        super().__init__(conn)
        self.content: list[bytes] | None = []  # None once the body went over the limit
        self.size = 0
        self.started = False  # its turn came: the app's head() ran
        self.upgraded: Upgraded | None = None

    # ------------------------------------------------------------------ for apps
    def headers(self) -> list[tuple[str, str]]:
        """The request headers as (name, value) strings, in order (hop-by-hop ones and
        X-Forwarded-For/Forwarded are held apart by the core and not included)."""
        out = []
        for ln in self.lines:  # the core keeps b"Name: value\r\n"
            name, _, value = ln.partition(b":")
            out.append((name.decode("latin-1"), value[1:-2].decode("latin-1")))
        return out

    def payload(self) -> bytes:
        """The whole request body (the chunked framing removed)."""
        return b"".join(self.content or ())

    def reply(self, status: int, body: bytes = b"", *,
              content_type: bytes = b"text/plain; charset=utf-8", headers: bytes = b"") -> None:
        """Answer; `Connection: close` when the client or a closing server ends it."""
        close = not self.keep_alive or self.close_after or self.conn.server.closing
        self.respond_raw(http.response(status, body, content_type=content_type,
                                       headers=headers, close=close))

    def respond_raw(self, data: bytes) -> None:
        if self.is_head:  # same head, no body (RFC 9110 9.3.2)
            data = data[:data.find(b"\r\n\r\n") + 4]
        super().respond_raw(data)

    # ------------------------------------------------------------------ core hooks
    def body_chunk(self, chunk: bytes) -> None:
        self.activity += 1
        if self.upgraded is not None:  # after an upgrade the core hands over every byte here
            self.upgraded.feed(chunk)
            return
        content = self.content
        if content is None or self.state >= LOCAL:
            return  # answered or too large: the rest is read and dropped
        self.size += len(chunk)
        if self.size > self.conn.server.max_body:  # type: ignore[attr-defined]
            self.content = None
            if self.started:  # its turn: answer now (a pipelined one answers in turn)
                self._too_large()
        else:
            content.append(chunk)

    def request_end(self) -> None:
        self.req_done = True
        if self.state == LOCAL:
            self.finish()
        elif self.state == NEW and self.started and self.content is not None:
            self.conn.server.respond(self)  # type: ignore[attr-defined]

    def _too_large(self) -> None:
        limit = self.conn.server.max_body  # type: ignore[attr-defined]
        self.reply(413, b"request body larger than %d bytes\n" % limit)


def not_found(req: Request) -> None:
    """404 in aiohttp's wording, which the control-plane endpoints answered with before
    they moved onto the core."""
    req.reply(404, b"404: Not Found")


def method_not_allowed(req: Request, allowed: frozenset[bytes]) -> None:
    """405 with the `Allow` list, in aiohttp's wording (see not_found)."""
    req.reply(405, b"405: Method Not Allowed",
              headers=b"Allow: %s\r\n" % b",".join(sorted(allowed)))


class AppConnection(ServerConnection):
    __slots__ = ()
    exchange_type = Request

    def on_body(self, body: bytes) -> None:
        ex = self.parsing
        if ex is not None:
            ex.has_body = True
            ex.body_chunk(body)  # unframed: the app gets the body, not the chunked encoding


class App(Protocol):
    def head(self, req: Request) -> None:
        """Answer from the request head alone (req.reply), or return to read the body."""

    async def respond(self, req: Request) -> None:
        """Answer a request whose whole body is in; must end in req.reply/respond_raw."""


class AppServer(Server):
    """A `Server` whose handler is an `App`: the proxy core's listener, limits and drain,
    with requests answered locally."""

    connection_type = AppConnection

    def __init__(self, app: App, options: ProxyOptions | None = None, *,
                 max_body: int = 1024 * 1024, body_timeout: float = 60.0) -> None:
        super().__init__(self, options)
        self.app = app
        self.max_body = max_body
        # A request's body must be in within this many seconds of its head (0: no limit),
        # else 408 and the connection is closed: the head timeout's twin for slow bodies.
        self.body_timeout = body_timeout
        self._body_check: asyncio.TimerHandle | None = None
        self.upgrades: set[Upgraded] = set()  # upgraded connections whose handlers run

    def handle(self, ex: Exchange) -> None:
        req: Request = ex  # type: ignore[assignment]
        req.started = True
        self.app.head(req)
        if req.state >= LOCAL:
            return
        if req.content is None:
            req._too_large()
        elif req.req_done:
            self.respond(req)
        else:
            self._before_body(req)
            if req.state < LOCAL and self.body_timeout > 0 and self._body_check is None:
                self._body_check = asyncio.get_running_loop().call_later(1.0, self._slow_bodies)

    def _before_body(self, req: Request) -> None:
        """413 for a declared length over the limit (before the body is sent, for a client
        that waits for 100-continue), else 100 Continue if asked. One pass over the lines,
        looking only at those starting with c or e."""
        expect = False
        for ln in req.lines:
            first = ln[0] | 0x20
            if first == 0x63 and ln[:15].lower() == b"content-length:":  # c
                length = ln[15:].strip()
                if length.isdigit() and int(length) > self.max_body:
                    req.content = None
                    req._too_large()
                    return
            elif first == 0x65 and ln[:7].lower() == b"expect:":  # e
                expect = ln[7:].strip().lower() == b"100-continue"
        if expect:
            req.conn.transport.write(_CONTINUE)

    def _slow_bodies(self) -> None:
        """Once a second while some started request still waits for its body."""
        self._body_check = None
        now = asyncio.get_running_loop().time()
        waiting = False
        for ex in list(self.active):
            if ex.req_done or ex.state != NEW:
                continue
            if now - ex.t0 > self.body_timeout:
                ex.fail(408, "request body timeout")  # closes: the rest is not coming
            else:
                waiting = True
        if waiting:
            self._body_check = asyncio.get_running_loop().call_later(1.0, self._slow_bodies)

    def respond(self, req: Request) -> None:
        req.defer(self.app.respond(req))

    async def close(self, grace: float = 0.0) -> None:
        """`Server.close`, and upgraded connections are asked to end first (a websocket
        sends 1001); handlers still running once it is over are cancelled."""
        for up in list(self.upgrades):
            up.shutdown()
        await super().close(grace)
        for up in list(self.upgrades):
            await up.cancel()
