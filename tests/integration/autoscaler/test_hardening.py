"""The autoscaler's port under hostile input (issue 9: one server core for every
listener). On aiohttp's server a 100 KB header was answered, a head that never ended held
its connection forever; on the proxy core they get 431 and 408 like the data plane."""

from __future__ import annotations

import asyncio

from tests.integration.queue_proxy.test_hardening import fuzz_listeners
from tests.unit.proxy.rawclient import read_response


async def _ask(port: int, data: bytes, within: float) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        status, _, body = await asyncio.wait_for(read_response(reader), within)
        return status, body
    finally:
        writer.close()


async def test_request_head_over_64k_gets_431(start_autoscaler) -> None:
    a = start_autoscaler({})
    big = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"v" * 100_000 + b"\r\n\r\n"
    assert await _ask(a.port, big, 10) == (431, b"request header fields too large\n")
    # just under the limit is still served
    ok = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"v" * 60_000 + b"\r\n\r\n"
    assert await _ask(a.port, ok, 10) == (200, b"ok\n")


async def test_request_head_that_never_ends_gets_408(start_autoscaler) -> None:
    a = start_autoscaler({}, "--header-timeout", "1")
    # checked once a second: the answer comes between 1 and about 2 s
    status, body = await _ask(a.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ", 8)
    assert (status, body) == (408, b"request header timeout\n")


async def test_fuzz_the_api_port(start_autoscaler) -> None:
    a = start_autoscaler({"revisions": [{"namespace": "ns", "name": "r", "pods": []}]})
    await fuzz_listeners(a.proc.pid, [a.port], seed=9100, count=400)
    assert a.proc.poll() is None
    log = a.log.read_text()
    assert "Traceback" not in log and '"severity": "ERROR"' not in log, log[-3000:]
