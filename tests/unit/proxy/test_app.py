"""runtime.proxy.app: local applications served by the proxy core (bodies, limits, order,
graceful close), over real loopback sockets, on uvloop and on the default loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from knpy.runtime.proxy import ProxyOptions
from knpy.runtime.proxy.app import AppServer, Request
from tests.unit.proxy.rawclient import read_response


class Echo:
    """Echoes the body; `/slow` waits until released, `/boom` raises."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.started = asyncio.Event()

    def head(self, req: Request) -> None:
        if req.method == b"DELETE":
            req.reply(405, b"no\n")

    async def respond(self, req: Request) -> None:
        if req.path() == b"/slow":
            self.started.set()
            await self.release.wait()
        if req.path() == b"/boom":
            raise RuntimeError("boom")
        if req.is_head:
            req.reply(200, b"hello")
            return
        names = b",".join(k.encode() for k, _ in req.headers())
        req.reply(200, req.payload(), headers=b"X-Names: %s\r\n" % names)


@pytest.fixture
async def app() -> AsyncIterator[tuple[Echo, AppServer, int]]:
    echo = Echo()
    srv = AppServer(echo, ProxyOptions(header_timeout=1.0), max_body=1000, body_timeout=1.0)
    port = await srv.listen("127.0.0.1", 0)
    yield echo, srv, port
    echo.release.set()
    await srv.close()


async def connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port)


async def ask(r: asyncio.StreamReader, w: asyncio.StreamWriter,
              data: bytes) -> tuple[int, dict[bytes, bytes], bytes]:
    """Send `data`, read one response."""
    w.write(data)
    return await asyncio.wait_for(read_response(r), 5)


async def test_pipelined_requests_are_answered_in_order_whatever_the_app_takes(app) -> None:
    echo, _, port = app
    r, w = await connect(port)
    w.write(b"POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n1"
            b"POST /fast HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n2")
    await asyncio.wait_for(echo.started.wait(), 5)
    await asyncio.sleep(0.1)  # the second one waits behind the first, unanswered
    echo.release.set()
    first = await asyncio.wait_for(read_response(r), 5)
    second = await asyncio.wait_for(read_response(r), 5)
    assert (first[0], first[2]) == (200, b"1") and (second[0], second[2]) == (200, b"2")
    w.close()


async def test_chunked_body_arrives_unframed_and_headers_as_strings(app) -> None:
    _, _, port = app
    r, w = await connect(port)
    status, headers, body = await ask(r, w, b"POST / HTTP/1.1\r\nHost: x\r\n"
                                      b"Transfer-Encoding: chunked\r\nX-A: b\r\n\r\n"
                                      b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
    assert status == 200 and body == b"abcde"
    assert headers[b"x-names"] == b"Host,X-A"  # hop-by-hop Transfer-Encoding held apart
    w.close()


async def test_bodies_over_the_limit_get_413_and_the_connection_goes_on(app) -> None:
    _, _, port = app
    r, w = await connect(port)
    # Declared too large: 413 at once, no 100 Continue, and the body sent anyway is dropped.
    declared = b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2000\r\n\r\n"
    assert (await ask(r, w, declared))[0] == 413
    w.write(b"x" * 2000)
    # Chunked past the limit: 413 as it streams, the rest read and dropped.
    chunk = b"200\r\n" + b"y" * 512 + b"\r\n"
    streamed = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert (await ask(r, w, streamed + chunk * 2 + b"0\r\n\r\n"))[0] == 413
    w.write(b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
    assert await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 5) == \
        b"HTTP/1.1 100 Continue\r\n\r\n"
    status, _, body = await ask(r, w, b"ok")
    assert (status, body) == (200, b"ok")
    w.close()


async def test_head_answers_have_no_body_and_errors_are_500(app) -> None:
    _, _, port = app
    r, w = await connect(port)
    w.write(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\nPOST /boom HTTP/1.1\r\nHost: x\r\n"
            b"Content-Length: 0\r\n\r\nDELETE / HTTP/1.1\r\nHost: x\r\n\r\n")
    head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 200") and b"Content-Length: 5" in head
    boom = await asyncio.wait_for(read_response(r), 5)  # right after the head: no body
    assert boom[0] == 500 and boom[2] == b"internal error\n"
    assert (await asyncio.wait_for(read_response(r), 5))[0] == 405
    w.close()


async def test_close_answers_the_request_in_flight_with_connection_close(app) -> None:
    echo, srv, port = app
    r, w = await connect(port)
    w.write(b"POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nz")
    await asyncio.wait_for(echo.started.wait(), 5)
    closing = asyncio.create_task(srv.close(grace=5))
    await asyncio.sleep(0.1)
    echo.release.set()
    status, headers, body = await asyncio.wait_for(read_response(r), 5)
    assert (status, body, headers[b"connection"]) == (200, b"z", b"close")
    await asyncio.wait_for(closing, 5)
    w.close()


async def test_a_body_that_stops_coming_gets_408_and_a_close(app) -> None:
    _, _, port = app
    r, w = await connect(port)
    w.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n1234")
    out = await asyncio.wait_for(r.read(-1), 5)  # 1 s limit, checked once a second
    assert out.startswith(b"HTTP/1.1 408") and out.endswith(b"request body timeout\n")
    w.close()
