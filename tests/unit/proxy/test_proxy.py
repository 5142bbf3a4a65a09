"""The proxy core end to end on loopback: a real upstream app, real sockets, both loops."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from knpy.runtime.proxy import ProxyOptions, Timeouts
from tests.apps.userapp import pattern
from tests.support.poll import eventually
from tests.support.procs import free_port
from tests.unit.proxy.conftest import Proxy
from tests.unit.proxy.rawclient import read_response

TIMEOUT = aiohttp.ClientTimeout(total=20)


async def get(url: str, **kw) -> tuple[int, bytes, dict]:  # type: ignore[no-untyped-def]
    async with aiohttp.ClientSession(timeout=TIMEOUT) as s, s.get(url, **kw) as r:
        return r.status, await r.read(), dict(r.headers)


def upstream_paused(proxy: Proxy) -> Any:
    """The proxy's one client connection, once back-pressure paused its upstream read."""
    conns = list(proxy.server.connections)
    if len(conns) != 1:
        return None
    (conn,) = conns
    up = conn.current.up if conn.current is not None else None
    return conn if up is not None and up.reading_paused else None


async def test_get_and_keep_alive_reuse(proxy: Proxy) -> None:
    async with aiohttp.ClientSession(timeout=TIMEOUT) as s:
        for _ in range(20):
            async with s.get(proxy.url + "/") as r:
                assert r.status == 200
                assert await r.read() == b"hello"
    assert proxy.pool.opened == 1  # one upstream connection served all 20
    assert len(proxy.handler.done) == 20
    assert all(ex.status == 200 for ex in proxy.handler.done)


async def test_request_headers_hop_by_hop_and_forwarded(proxy: Proxy) -> None:
    headers = {
        "Connection": "keep-alive, X-Private",
        "X-Private": "secret",
        "Keep-Alive": "timeout=5",
        "Proxy-Authorization": "Basic Zm9v",
        "TE": "trailers",
        "X-Forwarded-For": "10.0.0.1",
        "Forwarded": "for=10.0.0.1",
        "X-Kept": "yes",
    }
    status, body, _ = await get(proxy.url + "/headers", headers=headers)
    assert status == 200
    got = json.loads(body)
    for gone in ("x-private", "keep-alive", "proxy-authorization", "te"):
        assert gone not in got
    assert got["x-kept"] == ["yes"]
    assert got["x-forwarded-for"] == ["10.0.0.1, 127.0.0.1"]
    assert got["forwarded"] == ["for=10.0.0.1, for=127.0.0.1;proto=http"]
    assert got["x-forwarded-proto"] == ["http"]


async def test_forwarded_always_policy(make_proxy) -> None:  # type: ignore[no-untyped-def]
    p = await make_proxy(ProxyOptions(forwarded="always"))
    _status, body, _ = await get(p.url + "/headers", headers={"X-Forwarded-Proto": "https"})
    got = json.loads(body)
    assert got["forwarded"] == ["for=127.0.0.1;proto=http"]
    assert got["x-forwarded-proto"] == ["https"]  # the client's value is kept
    await p.server.close()


async def test_status_codes_pass_through(proxy: Proxy) -> None:
    for code in (201, 204, 301, 404, 500, 503):
        status, body, _ = await get(proxy.url + f"/status/{code}", allow_redirects=False)
        assert status == code
        assert body == (b"" if code == 204 else f"status {code}".encode())


async def test_chunked_streaming_response(proxy: Proxy) -> None:
    status, body, headers = await get(proxy.url + "/stream?chunks=50&size=1000")
    assert status == 200
    assert headers.get("Transfer-Encoding") == "chunked"
    assert body == pattern(50_000)


async def test_response_is_streamed_not_buffered(proxy: Proxy) -> None:
    # The upstream sends "first", then waits 3 s before "last": the first bytes must reach
    # the client while the upstream is still waiting.
    async with aiohttp.ClientSession(timeout=TIMEOUT) as s, \
            s.get(proxy.url + "/idle?gap_ms=3000") as r:
        first = await asyncio.wait_for(r.content.readexactly(5), 2.5)
        assert first == b"first"
        assert await r.read() == b"last"


async def test_large_download_and_chunked_upload(proxy: Proxy) -> None:
    n = 20 * 1024 * 1024
    status, body, _ = await get(proxy.url + f"/big?bytes={n}")
    assert status == 200
    assert len(body) == n
    assert hashlib.sha256(body).digest() == hashlib.sha256(pattern(n)).digest()

    async def gen():  # type: ignore[no-untyped-def]
        for i in range(40):
            yield bytes([i]) * 100_000

    expect = hashlib.sha256(b"".join(bytes([i]) * 100_000 for i in range(40))).hexdigest()
    async with aiohttp.ClientSession(timeout=TIMEOUT) as s, \
            s.post(proxy.url + "/upload", data=gen()) as r:
        assert r.status == 200
        assert await r.json() == {"bytes": 4_000_000, "sha256": expect}


async def test_echo_streams_both_ways(proxy: Proxy) -> None:
    data = bytes(range(256)) * 4096
    async with aiohttp.ClientSession(timeout=TIMEOUT) as s, \
            s.put(proxy.url + "/echo", data=data) as r:
        assert r.status == 200
        assert await r.read() == data


async def test_slow_client_pauses_upstream(proxy: Proxy) -> None:
    # A client that does not read: the proxy must stop reading the upstream rather than
    # buffer the whole 64 MB body in memory.
    _reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(b"GET /big?bytes=67108864 HTTP/1.1\r\nHost: x\r\n\r\n")
    conn = await eventually(lambda: upstream_paused(proxy), 10, "the upstream paused")
    buffered = conn.transport.get_write_buffer_size()
    assert buffered < 4 * 1024 * 1024, buffered
    writer.close()


async def test_websocket_passthrough_is_tracked(proxy: Proxy) -> None:
    async with aiohttp.ClientSession(timeout=TIMEOUT) as s, s.ws_connect(proxy.url + "/ws") as ws:
        await ws.send_str("hi")
        assert (await ws.receive(timeout=5)).data == "hi"
        await ws.send_bytes(b"\x00" * 100_000)
        assert (await ws.receive(timeout=5)).data == b"\x00" * 100_000
        assert len(proxy.server.tunnels) == 1
        assert not await proxy.server.wait_idle(0.2)  # drain would wait for it
    assert await proxy.server.wait_idle(5)
    assert proxy.handler.done[-1].status == 101


async def test_upstream_down_gives_502(make_proxy) -> None:  # type: ignore[no-untyped-def]
    p = await make_proxy(port=free_port())
    status, body, _ = await get(p.url + "/")
    assert status == 502
    assert b"dial tcp" in body
    await p.server.close()


@pytest.mark.parametrize(("timeouts", "kind"), [
    (Timeouts(total=0.5), "total"),
    (Timeouts(response_start=0.5), "response_start"),
    (Timeouts(idle=0.5), "idle"),
])
async def test_timeouts_give_504(make_proxy, timeouts, kind) -> None:  # type: ignore[no-untyped-def]
    p = await make_proxy(ProxyOptions(timeouts=timeouts))
    status, body, headers = await get(p.url + "/sleep?ms=3000")
    assert status == 504
    assert body == b"request timeout"  # Knative's body, whichever limit expired
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    assert p.handler.done[-1].status == 504
    assert p.handler.done[-1].error == kind
    await p.server.close()


async def test_total_timeout_spares_a_started_stream(make_proxy) -> None:  # type: ignore[no-untyped-def]
    # Knative: timeoutSeconds and the response-start limit only hold until the response
    # starts; a stream that has begun runs on (the idle limit still guards it).
    p = await make_proxy(ProxyOptions(timeouts=Timeouts(total=1.5, response_start=1.5, idle=2)))
    status, body, _ = await get(p.url + "/stream?chunks=10&size=10&delay_ms=300")
    assert (status, body) == (200, pattern(100))
    await p.server.close()


async def test_idle_timeout_after_response_start_cuts_the_response(make_proxy) -> None:  # type: ignore[no-untyped-def]
    p = await make_proxy(ProxyOptions(timeouts=Timeouts(idle=0.5)))
    with pytest.raises(aiohttp.ClientPayloadError):
        await get(p.url + "/idle?gap_ms=3000")
    await p.server.close()


async def test_fast_response_within_timeouts(make_proxy) -> None:  # type: ignore[no-untyped-def]
    p = await make_proxy(ProxyOptions(timeouts=Timeouts(total=5, response_start=5, idle=5)))
    status, body, _ = await get(p.url + "/sleep?ms=50")
    assert (status, body) == (200, b"slept 50")
    await p.server.close()


async def test_client_disconnect_cancels_upstream(proxy: Proxy, upstream) -> None:  # type: ignore[no-untyped-def]
    _reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(b"GET /sleep?ms=5000 HTTP/1.1\r\nHost: x\r\n\r\n")
    await eventually(lambda: len(proxy.server.active) == 1, 5, "the request in flight")
    writer.close()
    await writer.wait_closed()
    assert await proxy.server.wait_idle(2)
    # the upstream saw its request go away: nothing is in flight there any more
    async def upstream_idle() -> bool:
        _, body, _ = await get(f"http://127.0.0.1:{upstream.port}/count")
        return json.loads(body)["inflight"] == 0
    await eventually(upstream_idle, 2.5, "the upstream request cancelled", every=0.05)


async def test_pipelined_requests_answer_in_order(proxy: Proxy) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(b"GET /sleep?ms=200 HTTP/1.1\r\nHost: x\r\n\r\n"
                 b"GET /status/201 HTTP/1.1\r\nHost: x\r\n\r\n"
                 b"HEAD /big?bytes=1000 HTTP/1.1\r\nHost: x\r\n\r\n"
                 b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    r1 = await asyncio.wait_for(read_response(reader), 5)
    r2 = await asyncio.wait_for(read_response(reader), 5)
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    r4 = await asyncio.wait_for(read_response(reader), 5)
    assert (r1[0], r1[2]) == (200, b"slept 200")
    assert (r2[0], r2[2]) == (201, b"status 201")
    assert head.startswith(b"HTTP/1.1 200") and b"Content-Length: 1000" in head
    assert (r4[0], r4[2]) == (200, b"hello")
    writer.close()


async def test_malformed_request_gets_400(proxy: Proxy) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
    status, headers, _ = await asyncio.wait_for(read_response(reader), 5)
    assert status == 400
    assert headers[b"connection"] == b"close"
    assert await reader.read() == b""
    writer.close()


async def test_http10_client_gets_a_closed_connection(proxy: Proxy) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(b"GET / HTTP/1.0\r\n\r\n")
    data = await asyncio.wait_for(reader.read(), 5)
    assert data.startswith(b"HTTP/1.") and data.endswith(b"hello")
    writer.close()


async def test_stale_pooled_connection_is_retried(make_proxy) -> None:  # type: ignore[no-untyped-def]
    # An upstream that closes every connection right after answering (without saying so).
    closed = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal closed
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        await asyncio.sleep(0.05)  # close after the proxy pooled the connection, as a peer would
        writer.close()
        closed += 1

    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    p = await make_proxy(port=srv.sockets[0].getsockname()[1])
    async with aiohttp.ClientSession(timeout=TIMEOUT) as s:
        for i in range(3):
            async with s.get(p.url + "/") as r:
                assert (r.status, await r.read()) == (200, b"ok")
            # the pooled connection is stale for certain before the next request
            await eventually(lambda i=i: closed == i + 1, 5, "the upstream closing")
    await p.server.close()
    srv.close()


async def test_bodyless_response_with_connection_close_is_not_pooled(make_proxy) -> None:  # type: ignore[no-untyped-def]
    # llhttp completes a 204 within its head and then forgets its `Connection: close`: the
    # connection must still not go back to the pool (this upstream keeps it open anyway).
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                await reader.readuntil(b"\r\n\r\n")
                await reader.readexactly(1)
                writer.write(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
        writer.close()

    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    p = await make_proxy(port=srv.sockets[0].getsockname()[1])
    async with aiohttp.ClientSession(timeout=TIMEOUT) as s:
        for _ in range(2):
            async with s.post(p.url + "/", data=b"x") as r:
                assert r.status == 204
    assert p.pool.opened == 2
    await p.server.close()
    srv.close()


async def test_paused_connection_serves_the_next_request(proxy: Proxy) -> None:
    # After back-pressure on one response, the same keep-alive connection must carry on.
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    n = 16 * 1024 * 1024
    writer.write(b"GET /big?bytes=%d HTTP/1.1\r\nHost: x\r\n\r\n" % n)
    await eventually(lambda: upstream_paused(proxy), 10, "the upstream paused")
    status, _, body = await asyncio.wait_for(read_response(reader), 20)
    assert status == 200 and len(body) == n
    writer.write(b"PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde")
    status, _, body = await asyncio.wait_for(read_response(reader), 5)
    assert (status, body) == (200, b"abcde")
    writer.close()


def accept_queue(port: int) -> int:
    """Connections waiting in 127.0.0.1:port's accept queue (Linux: a listening socket's
    rx_queue in /proc/net/tcp)."""
    local = f"0100007F:{port:04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        f = line.split()
        if f[1] == local and f[3] == "0A":  # 0A: LISTEN
            return int(f[4].split(":")[1], 16)
    return 0


async def test_dial_timeout_gives_502(make_proxy) -> None:  # type: ignore[no-untyped-def]
    import socket

    # A listener whose accept queue is full: the kernel drops further SYNs, so dials hang.
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(0)
    port = lsock.getsockname()[1]
    fillers = []
    for _ in range(3):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        fillers.append(s)
    await eventually(lambda: accept_queue(port) >= 1, 5, "the accept queue full")
    p = await make_proxy(port=port)
    p.pool.connect_timeout = 0.3
    status, body, _ = await get(p.url + "/")
    assert status == 502
    assert body.endswith(b"i/o timeout\n")
    await p.server.close()
    for s in fillers:
        s.close()
    lsock.close()


@pytest.mark.parametrize("response", [
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n",
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
])
async def test_byte_at_a_time_both_ways(make_proxy, response: bytes) -> None:  # type: ignore[no-untyped-def]
    # Heads and bodies split at every possible point, on both sides of the proxy.
    got_requests: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            got_requests.append(head + await reader.readexactly(3))
            for i in range(len(response)):
                writer.write(response[i:i + 1])
                await writer.drain()
                await asyncio.sleep(0)
        writer.close()

    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    p = await make_proxy(port=srv.sockets[0].getsockname()[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", p.port)
    request = b"POST /x?y=1 HTTP/1.1\r\nHost: h\r\nX-Long-Header: " + b"v" * 300 + \
              b"\r\nContent-Length: 3\r\n\r\nabc"
    for _ in range(2):  # twice on the same connections
        for i in range(len(request)):
            writer.write(request[i:i + 1])
            await writer.drain()
            await asyncio.sleep(0)
        status, headers, body = await asyncio.wait_for(read_response(reader), 10)
        if status == 100:
            status, headers, body = await asyncio.wait_for(read_response(reader), 10)
        assert (status, body) == (200, b"hello")
        assert b"connection" not in headers
    assert len(got_requests) == 2
    assert got_requests[0].startswith(b"POST /x?y=1 HTTP/1.1\r\nHost: h\r\nX-Long-Header: v")
    assert got_requests[0].endswith(b"X-Forwarded-Proto: http\r\n\r\nabc")
    assert p.pool.opened == 1
    writer.close()
    await p.server.close()
    srv.close()


async def test_garbage_after_a_request_is_never_forwarded(proxy: Proxy, upstream) -> None:  # type: ignore[no-untyped-def]
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcd"
                 b"NOT HTTP AT ALL\r\n\r\n")
    status, _, body = await asyncio.wait_for(read_response(reader), 5)
    assert status == 200 and json.loads(body)["bytes"] == 4
    status, headers, _ = await asyncio.wait_for(read_response(reader), 5)
    assert status == 400 and headers[b"connection"] == b"close"
    writer.close()


async def test_refused_upgrade_closes_and_does_not_reuse(proxy: Proxy) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(b"GET /status/403 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                 b"Upgrade: websocket\r\n\r\n\x81\x05hello")
    status, headers, _ = await asyncio.wait_for(read_response(reader), 5)
    assert status == 403 and headers[b"connection"] == b"close"
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()
    assert proxy.pool.idle == []
    status, body, _ = await get(proxy.url + "/")
    assert (status, body) == (200, b"hello")


async def test_connect_is_not_tunnelled(proxy: Proxy) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"
                 b"\x16\x03\x01 not http")
    data = await asyncio.wait_for(reader.read(), 5)  # answered, then closed
    assert not data.startswith(b"HTTP/1.1 200")
    writer.close()


@pytest.mark.parametrize("request_bytes", [
    # both framings at once: the classic request-smuggling shape
    b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n"
    b"\r\n0\r\n\r\n",
    # a transfer coding other than chunked last
    b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
    # two different lengths
    b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
])
async def test_ambiguous_framing_is_refused(proxy: Proxy, request_bytes: bytes) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(request_bytes)
    status, _, _ = await asyncio.wait_for(read_response(reader), 5)
    assert status == 400
    assert proxy.pool.opened == 0  # nothing reached the upstream
    writer.close()


async def test_endless_request_head_is_cut_off(proxy: Proxy) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")
    line = b"X-Filler: " + b"a" * 1000 + b"\r\n"
    with contextlib.suppress(ConnectionError):
        for _ in range(200):  # 200 KB of headers, never ending
            writer.write(line)
            await writer.drain()
    status, _, _ = await asyncio.wait_for(read_response(reader), 5)
    assert status == 431
    assert proxy.pool.opened == 0
    writer.close()


async def test_slow_header_gets_408_and_idle_keepalive_is_closed(make_proxy) -> None:  # type: ignore[no-untyped-def]
    p = await make_proxy(ProxyOptions(header_timeout=1.0, keepalive_timeout=1.0))
    slow_r, slow_w = await asyncio.open_connection("127.0.0.1", p.port)
    slow_w.write(b"GET / HTTP/1.1\r\nHost: x\r\n")  # ...and never the blank line
    idle_r, idle_w = await asyncio.open_connection("127.0.0.1", p.port)
    idle_w.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    status, _, body = await asyncio.wait_for(read_response(idle_r), 5)
    assert (status, body) == (200, b"hello")
    status, _, _ = await asyncio.wait_for(read_response(slow_r), 5)
    assert status == 408
    assert await asyncio.wait_for(idle_r.read(), 5) == b""  # closed after ~1 s idle
    slow_w.close()
    idle_w.close()
    await p.server.close()


async def test_a_long_request_is_not_an_idle_connection(make_proxy) -> None:  # type: ignore[no-untyped-def]
    p = await make_proxy(ProxyOptions(header_timeout=1.0, keepalive_timeout=1.0))
    status, body, _ = await get(p.url + "/sleep?ms=2500")
    assert (status, body) == (200, b"slept 2500")
    await p.server.close()


async def test_malformed_chunked_body_fails_the_request(proxy: Proxy) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                 b"4\r\nabcd\r\nZZ-not-a-size\r\n")
    status, headers, _ = await asyncio.wait_for(read_response(reader), 5)
    assert status == 400 and headers[b"connection"] == b"close"
    assert await proxy.server.wait_idle(5)
    writer.close()
