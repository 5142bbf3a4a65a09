"""runtime.proxy.client: the keep-alive client for requests knpy sends itself, against a
raw loopback server, on uvloop and on the default loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from knpy.runtime.proxy.client import HTTPError, Pool
from tests.support.procs import free_port


class Raw:
    """Answers each request with `answer` (raw bytes); counts connections and requests."""

    def __init__(self) -> None:
        self.answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: b\r\n\r\nok"
        self.connections = 0
        self.requests: list[bytes] = []

    async def handle(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await r.readuntil(b"\r\n\r\n")
                n = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                self.requests.append(head + await r.readexactly(n))
                if self.answer:
                    w.write(self.answer)
                    await w.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            w.close()


@pytest.fixture
async def raw() -> AsyncIterator[tuple[Raw, int]]:
    server = Raw()
    srv = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    yield server, srv.sockets[0].getsockname()[1]
    srv.close()


async def test_post_reuses_one_keepalive_connection(raw) -> None:
    server, port = raw
    pool = Pool()
    for n in range(3):
        resp = await pool.post(f"http://127.0.0.1:{port}/p?q=1", [("ce-id", str(n))],
                               b"body", 5)
        assert (resp.status, resp.body, resp.header("x-a")) == (200, b"ok", "b")
    assert server.connections == 1
    assert server.requests[0].startswith(b"POST /p?q=1 HTTP/1.1\r\nHost: 127.0.0.1:")
    assert b"ce-id: 2\r\nContent-Length: 4\r\n\r\nbody" in server.requests[2]
    pool.close()


async def test_connection_close_is_not_reused_and_bad_header_values_are_dropped(raw) -> None:
    server, port = raw
    server.answer = b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"
    pool = Pool()
    for _ in range(2):
        resp = await pool.post(f"http://127.0.0.1:{port}/", [("X-Bad", "a\r\nInjected: 1")],
                               b"", 5)
        assert resp.status == 204
    assert server.connections == 2
    assert all(b"Injected" not in req for req in server.requests)
    pool.close()


async def test_errors_are_http_errors(raw) -> None:
    server, port = raw
    pool = Pool()
    server.answer = b""  # never answers
    with pytest.raises(HTTPError, match="timed out"):
        await pool.post(f"http://127.0.0.1:{port}/", [], b"", 0.3)
    server.answer = b"NOT HTTP\r\n\r\n"
    with pytest.raises(HTTPError, match="bad response"):
        await pool.post(f"http://127.0.0.1:{port}/", [], b"", 5)
    with pytest.raises(HTTPError, match="connect"):
        await pool.post(f"http://127.0.0.1:{free_port()}/", [], b"", 5)
    with pytest.raises(ValueError, match="not an http:// URL"):
        await pool.post("https://127.0.0.1/", [], b"", 5)
    pool.close()


class OneAnswerPerConnection:
    """Answers the first request on each connection; reads the next one and closes without
    answering, as a server does when its keep-alive timeout hits as the request arrives."""

    def __init__(self) -> None:
        self.connections = 0
        self.requests = 0

    async def handle(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            for answer in (True, False):
                head = await r.readuntil(b"\r\n\r\n")
                n = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                await r.readexactly(n)
                self.requests += 1
                if answer:
                    w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    await w.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            w.close()


@pytest.mark.parametrize("resend_stale", [True, False])
async def test_resend_stale_is_an_option(resend_stale: bool) -> None:
    server = OneAnswerPerConnection()
    srv = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{srv.sockets[0].getsockname()[1]}/"
    pool = Pool(resend_stale=resend_stale)
    assert (await pool.post(url, [], b"one", 5)).status == 200
    if resend_stale:
        # The POST went out twice: once on the stale connection, once on a fresh one.
        assert (await pool.post(url, [], b"two", 5)).status == 200
        assert (server.connections, server.requests) == (2, 3)
    else:
        with pytest.raises(HTTPError, match="closed the connection"):
            await pool.post(url, [], b"two", 5)
        assert (server.connections, server.requests) == (1, 2)
    pool.close()
    srv.close()


async def test_interim_response_is_skipped(raw) -> None:
    server, port = raw
    server.answer = (b"HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n"
                     b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\nX-A: b\r\n\r\nok")
    pool = Pool()
    for _ in range(2):
        resp = await pool.post(f"http://127.0.0.1:{port}/", [], b"x", 5)
        assert (resp.status, resp.body, resp.header("x-a"), resp.header("x-interim")) == \
            (201, b"ok", "b", None)
    assert server.connections == 1
    pool.close()


async def test_response_head_limit(raw) -> None:
    server, port = raw
    server.answer = b"HTTP/1.1 200 OK\r\nX-Big: " + b"v" * (70 * 1024)  # and no end
    pool = Pool()
    with pytest.raises(HTTPError, match="head too large"):
        await pool.post(f"http://127.0.0.1:{port}/", [], b"", 5)
    pool.close()
