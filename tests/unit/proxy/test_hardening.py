"""Proxy-core defects found by a black-box probe of the queue-proxy and activator (issue 9):
request-head limits, pipelining, Host, absolute-form targets, CONNECT, retries on a stale
pooled connection and draining. Each test failed on the core before the fix."""

from __future__ import annotations

import asyncio
import contextlib
import json

import aiohttp
import pytest

from tests.unit.proxy.conftest import Proxy
from tests.unit.proxy.rawclient import read_response, until_closed

TIMEOUT = aiohttp.ClientTimeout(total=20)


async def _raw(port: int, data: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    return reader, writer


class TargetEcho:
    """A raw upstream that answers every request with its request line and Host, and can
    be told to read the n-th request on a connection and then close without answering."""

    def __init__(self, close_on: int = 0) -> None:
        self.close_on = close_on
        self.seen: list[bytes] = []  # request heads, in arrival order
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        n = 0
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.seen.append(head)
                n += 1
                if n == self.close_on:
                    break  # the app read it, then crashed: no answer
                line = head.split(b"\r\n", 1)[0]
                host = next((ln[5:].strip() for ln in head.split(b"\r\n")
                             if ln.lower().startswith(b"host:")), b"")
                body = line + b" host=" + host
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s"
                             % (len(body), body))
                await writer.drain()
        writer.close()

    def close(self) -> None:
        assert self.server is not None
        self.server.close()


# ---------------------------------------------------------------- pipelining and head limits
async def test_5000_pipelined_gets_in_one_write_are_answered_in_order(make_proxy) -> None:  # type: ignore[no-untyped-def]
    """Issue 9 defect 6: the head budget was charged with the whole read (all 5,000
    pipelined requests), so the queue-proxy answered one and then 431 + reset."""
    app = TargetEcho()
    p = await make_proxy(port=await app.start())
    n = 5000
    reqs = b"".join(b"GET /%05d HTTP/1.1\r\nHost: h\r\n\r\n" % i for i in range(n))
    assert len(reqs) // n <= 40
    reader, writer = await _raw(p.port, reqs)
    for i in range(n):
        status, _, body = await asyncio.wait_for(read_response(reader), 10)
        assert (status, body) == (200, b"GET /%05d HTTP/1.1 host=h" % i), i
    writer.close()
    await p.server.close()
    app.close()


async def test_request_line_over_64k_in_one_write_gets_431(proxy: Proxy) -> None:
    """The 64 KiB head limit held only when a head spanned reads: a 100 KB request line
    in one write was forwarded."""
    reader, writer = await _raw(proxy.port, b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\n"
                                b"Host: x\r\n\r\n")
    status, headers, _ = await asyncio.wait_for(read_response(reader), 5)
    assert status == 431 and headers[b"connection"] == b"close"
    assert proxy.pool.opened == 0  # nothing reached the upstream
    writer.close()


async def test_header_over_64k_in_one_write_gets_431(proxy: Proxy) -> None:
    reader, writer = await _raw(proxy.port, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: "
                                + b"b" * 100_000 + b"\r\n\r\n")
    status, _, _ = await asyncio.wait_for(read_response(reader), 5)
    assert status == 431
    assert proxy.pool.opened == 0
    writer.close()


async def test_one_endless_header_line_in_small_reads_gets_431(proxy: Proxy) -> None:
    # llhttp reports a header only once its line ends: the open line is bounded too.
    reader, writer = await _raw(proxy.port, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: ")
    with contextlib.suppress(ConnectionError):
        for _ in range(100):
            writer.write(b"c" * 1000)
            await writer.drain()
            await asyncio.sleep(0.002)
    status, _, _ = await asyncio.wait_for(read_response(reader), 5)
    assert status == 431
    assert proxy.pool.opened == 0
    writer.close()


@pytest.mark.parametrize("head", [
    b"GET / HTTP/1.1\r\nHost: x\r\n"
    + b"".join(b"X-L%03d: %s\r\n" % (i, b"l" * 990) for i in range(100)) + b"\r\n",
    b"GET /" + b"u" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
])
async def test_head_over_64k_in_a_few_reads_gets_431(proxy: Proxy, head: bytes) -> None:
    reader, writer = await _raw(proxy.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (await asyncio.wait_for(read_response(reader), 5))[0] == 200
    with contextlib.suppress(ConnectionError):
        for i in range(0, len(head), 34_000):
            writer.write(head[i:i + 34_000])
            await writer.drain()
            await asyncio.sleep(0.05)
    status, _, _ = await asyncio.wait_for(read_response(reader), 5)
    assert status == 431
    assert proxy.pool.opened == 1  # only the first request reached the upstream
    writer.close()


async def test_heads_just_under_the_limit_pass_split_or_whole(proxy: Proxy) -> None:
    head = (b"GET /headers HTTP/1.1\r\nHost: x\r\n"
            + b"".join(b"X-F%02d: %s\r\n" % (i, b"v" * 1000) for i in range(60)) + b"\r\n")
    assert 60_000 < len(head) < 64 * 1024
    reader, writer = await _raw(proxy.port, head + head)  # pipelined, one write
    for _ in range(2):
        status, _, body = await asyncio.wait_for(read_response(reader), 5)
        assert status == 200 and len(json.loads(body)["x-f59"][0]) == 1000
    for i in range(0, len(head), 7000):  # and in pieces
        writer.write(head[i:i + 7000])
        await asyncio.sleep(0.005)
    status, _, _ = await asyncio.wait_for(read_response(reader), 5)
    assert status == 200
    writer.close()


async def test_bad_request_after_pipelined_ones_is_answered_after_them(proxy: Proxy) -> None:
    reader, writer = await _raw(proxy.port, b"GET /sleep?ms=100 HTTP/1.1\r\nHost: x\r\n\r\n"
                                b"GET /status/201 HTTP/1.1\r\nHost: x\r\n\r\n"
                                b"GET / HTTP/1.1\r\nBad Header\r\n\r\n")
    got = [await asyncio.wait_for(read_response(reader), 5) for _ in range(3)]
    assert [g[0] for g in got] == [200, 201, 400]
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()


# ---------------------------------------------------------------- Host, targets, CONNECT
@pytest.mark.parametrize(("request_bytes", "body"), [
    (b"GET / HTTP/1.1\r\n\r\n", b"missing required Host header\n"),
    (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", b"too many Host headers\n"),
    (b"GET http://other:1234/ HTTP/1.1\r\n\r\n", b"missing required Host header\n"),
])
async def test_http11_needs_exactly_one_host(proxy: Proxy, request_bytes: bytes,
                                             body: bytes) -> None:
    reader, writer = await _raw(proxy.port, request_bytes)
    status, headers, got = await asyncio.wait_for(read_response(reader), 5)
    assert (status, got) == (400, body)
    assert headers[b"connection"] == b"close"
    assert proxy.pool.opened == 0
    writer.close()


async def test_empty_host_and_http10_without_host_are_accepted(proxy: Proxy) -> None:
    reader, writer = await _raw(proxy.port, b"GET / HTTP/1.1\r\nHost:\r\n\r\n")
    status, _, body = await asyncio.wait_for(read_response(reader), 5)
    assert (status, body) == (200, b"hello")
    writer.close()


async def test_absolute_form_target_is_forwarded_origin_form(make_proxy) -> None:  # type: ignore[no-untyped-def]
    app = TargetEcho()
    p = await make_proxy(port=await app.start())
    reader, writer = await _raw(p.port, b"GET http://other:1234/a/b?x=1#frag HTTP/1.1\r\n"
                                b"Host: ignored\r\n\r\n"
                                b"GET http://[::1]/ HTTP/1.1\r\nHost: ignored\r\n\r\n")
    _, _, body = await asyncio.wait_for(read_response(reader), 5)
    assert body == b"GET /a/b?x=1 HTTP/1.1 host=other:1234"
    _, _, body = await asyncio.wait_for(read_response(reader), 5)
    assert body == b"GET / HTTP/1.1 host=[::1]"
    assert all(h.count(b"Host:") + h.count(b"host:") == 1 for h in app.seen)
    writer.close()
    await p.server.close()
    app.close()


async def test_connect_is_refused_with_405(proxy: Proxy) -> None:
    reader, writer = await _raw(proxy.port, b"CONNECT example.com:443 HTTP/1.1\r\n"
                                b"Host: example.com:443\r\n\r\n\x16\x03\x01 not http")
    status, headers, _ = await asyncio.wait_for(read_response(reader), 5)
    assert status == 405 and b"CONNECT" not in headers[b"allow"]
    assert await asyncio.wait_for(reader.read(), 5) == b""
    assert proxy.pool.opened == 0  # the user app never saw it
    writer.close()


# ---------------------------------------------------------------- retries
async def _second_on_a_reused_connection(make_proxy, app: TargetEcho,  # type: ignore[no-untyped-def]
                                         second: bytes) -> tuple[int, bytes, Proxy]:
    """A GET, then `second` on the same client (and pooled upstream) connection."""
    p = await make_proxy(port=await app.start())
    reader, writer = await _raw(p.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (await asyncio.wait_for(read_response(reader), 5))[0] == 200
    writer.write(second)
    status, _, body = await asyncio.wait_for(read_response(reader), 5)
    writer.close()
    await p.server.close()
    app.close()
    return status, body, p


@pytest.mark.parametrize("second", [
    b"POST /orders HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
    b"DELETE /orders/1 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"PATCH /orders/1 HTTP/1.1\r\nHost: x\r\n\r\n",
])
async def test_non_idempotent_request_is_not_sent_twice(make_proxy, second: bytes) -> None:  # type: ignore[no-untyped-def]
    """Issue 9 defect 5: the app reads the request on a reused keep-alive connection, then
    closes it (crashes): the request must not be sent again."""
    app = TargetEcho(close_on=2)
    status, _, _ = await _second_on_a_reused_connection(make_proxy, app, second)
    assert status == 502
    method = second.split(b" ", 1)[0]
    assert sum(h.startswith(method) for h in app.seen) == 1, app.seen


@pytest.mark.parametrize("second", [
    b"GET /again HTTP/1.1\r\nHost: x\r\n\r\n",
    b"OPTIONS /again HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST /again HTTP/1.1\r\nHost: x\r\nIdempotency-Key: k-1\r\n\r\n",
])
async def test_idempotent_request_is_retried_on_a_fresh_connection(make_proxy,  # type: ignore[no-untyped-def]
                                                                   second: bytes) -> None:
    app = TargetEcho(close_on=2)
    status, body, p = await _second_on_a_reused_connection(make_proxy, app, second)
    assert status == 200 and b" /again " in body
    assert p.pool.opened == 2


# ---------------------------------------------------------------- drain
async def test_close_with_grace_answers_every_request_on_keep_alive_connections(
        proxy: Proxy) -> None:
    """Draining: requests keep arriving on open keep-alive connections while the server
    closes; each is answered (the last with Connection: close), none is reset."""
    answered: list[int] = []
    failed: list[str] = []
    request = b"GET /sleep?ms=5 HTTP/1.1\r\nHost: x\r\n\r\n"
    clients = [asyncio.create_task(until_closed(proxy.port, request, answered, failed))
               for _ in range(8)]
    await asyncio.sleep(0.5)
    assert answered
    await asyncio.wait_for(proxy.server.close(grace=5), 10)
    await asyncio.wait_for(asyncio.gather(*clients), 10)
    assert failed == []
    assert set(answered) == {200}
