"""The one GET probe (runtime.proxy.probe) against real loopback sockets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from knpy.runtime.proxy.probe import ProbeAnswer, get_request, probe
from tests.support.procs import free_port

# a server's side of one connection; it may hold the connection until `done` is set
Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter, asyncio.Event], Awaitable[None]]


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Script], Awaitable[int]]]:
    servers: list[asyncio.Server] = []
    handlers: list[asyncio.Task] = []
    done = asyncio.Event()

    async def start(script: Script) -> int:
        async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            handlers.append(asyncio.current_task())  # type: ignore[arg-type]
            try:
                await script(r, w, done)
            finally:
                w.close()
        srv = await asyncio.start_server(handle, "127.0.0.1", 0)
        servers.append(srv)
        return srv.sockets[0].getsockname()[1]

    yield start
    done.set()
    await asyncio.gather(*handlers, return_exceptions=True)
    for srv in servers:
        srv.close()
        await srv.wait_closed()


def answer_with(raw: bytes, *, close: bool = True, split: int | None = None) -> Script:
    async def script(r: asyncio.StreamReader, w: asyncio.StreamWriter,
                     done: asyncio.Event) -> None:
        await r.readuntil(b"\r\n\r\n")
        parts = [raw] if split is None else [raw[:split], raw[split:]]
        for part in parts:
            w.write(part)
            await w.drain()
            await asyncio.sleep(0.01)
        if not close:
            await done.wait()
    return script


def test_request_bytes() -> None:
    req = get_request("/healthz", "10.0.0.1:8012", [("K-Network-Probe", "queue")])
    assert req == (b"GET /healthz HTTP/1.1\r\nHost: 10.0.0.1:8012\r\nK-Network-Probe: queue\r\n"
                   b"Connection: close\r\n\r\n")


async def test_status_and_body_split_across_reads(serve) -> None:
    port = await serve(answer_with(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nqueue",
                                   split=20))
    req = get_request("/healthz", "x")
    assert await probe("127.0.0.1", port, req, 2.0, body=True) == ProbeAnswer(200, b"queue")
    assert await probe("127.0.0.1", port, req, 2.0) == ProbeAnswer(200, b"")  # status line only


async def test_content_length_answer_does_not_wait_for_eof(serve) -> None:
    # a server that keeps the connection open: the framed body ends the probe
    port = await serve(answer_with(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nqueue",
                                   close=False))
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    answer = await probe("127.0.0.1", port, get_request("/", "x"), 5.0, body=True)
    assert answer == ProbeAnswer(200, b"queue") and loop.time() - t0 < 2.0


async def test_failures_are_none(serve) -> None:
    req = get_request("/", "x")
    assert await probe("127.0.0.1", free_port(), req, 1.0) is None  # refused
    silent = await serve(lambda r, w, done: done.wait())
    assert await probe("127.0.0.1", silent, req, 0.2) is None  # timed out
    garbage = await serve(answer_with(b"SSH-2.0-OpenSSH\r\n\r\n"))
    assert await probe("127.0.0.1", garbage, req, 1.0) is None
    assert await probe("127.0.0.1", garbage, req, 1.0, body=True) is None


async def test_connect_only(serve) -> None:
    port = await serve(lambda r, w, done: asyncio.sleep(0))
    assert await probe("127.0.0.1", port, None, 1.0) == ProbeAnswer(0, b"")
    assert await probe("127.0.0.1", free_port(), None, 1.0) is None
