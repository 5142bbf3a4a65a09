"""The ingress HTTP server over a real 127.0.0.1 socket, with the test-only memory store:
HTTP/1.1 framing (chunked, 100-continue, pipelining, limits, garbage) and 503."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from knpy.broker import ingress as ing
from knpy.broker import record
from knpy.broker.memstore import MemoryStore
from knpy.runtime.contract.eventing import BrokerSpec, EventingContract
from knpy.runtime.proxy import ProxyOptions

CE = (b"ce-specversion: 1.0\r\nce-id: %s\r\nce-source: /s\r\nce-type: t\r\n"
      b"Content-Type: text/plain\r\n")
LIMIT = 64 * 1024
OPTIONS = ProxyOptions(header_timeout=1.0)


@pytest.fixture
async def server() -> AsyncIterator[tuple[MemoryStore, int]]:
    store = MemoryStore()
    await store.ensure_broker("ns/b")
    i = ing.Ingress(store, LIMIT)
    i.set_contract(EventingContract(brokers=(BrokerSpec("ns", "b"),)))
    srv = ing.server(i, OPTIONS)
    port = await srv.listen("127.0.0.1", 0)
    yield store, port
    await srv.close()


async def exchange(port: int, data: bytes, responses: int = 1) -> list[bytes]:
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(data)
    out = []
    try:
        for _ in range(responses):
            head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 5)
            if head.startswith(b"HTTP/1.1 100"):
                head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 5)
            n = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            out.append(head + await r.readexactly(n))
    finally:
        w.close()
    return out


def post(eid: bytes, body: bytes, extra: bytes = b"") -> bytes:
    return (b"POST /ns/b HTTP/1.1\r\nHost: x\r\n" + CE % eid + extra +
            b"Content-Length: %d\r\n\r\n" % len(body) + body)


async def test_pipelined_requests_are_answered_in_order(server) -> None:
    store, port = server
    data = post(b"1", b"a") + b"GET /ns/b HTTP/1.1\r\nHost: x\r\n\r\n" + post(b"2", b"b")
    r1, r2, r3 = await exchange(port, data, 3)
    assert r1.startswith(b"HTTP/1.1 202") and r2.startswith(b"HTTP/1.1 405")
    assert r3.startswith(b"HTTP/1.1 202")
    assert [record.decode(x)[0].id for x in store.log["ns/b"]] == ["1", "2"]


async def test_chunked_body_and_expect_continue(server) -> None:
    store, port = server
    body = b"hello chunked"
    chunked = (b"POST /ns/b HTTP/1.1\r\nHost: x\r\n" + CE % b"c" +
               b"Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n" +
               b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
    (resp,) = await exchange(port, chunked)
    assert resp.startswith(b"HTTP/1.1 202")
    ev, _ = record.decode(store.log["ns/b"][0])
    assert ev.data == body and ev.datacontenttype == "text/plain"


async def test_size_limit_by_header_and_by_streamed_chunks(server) -> None:
    store, port = server
    # The limit is on the whole event: a body of LIMIT bytes plus attributes is over it.
    (ok,) = await exchange(port, post(b"big", b"x" * (LIMIT - 512)))
    assert ok.startswith(b"HTTP/1.1 202")
    (over,) = await exchange(port, post(b"big2", b"x" * LIMIT))
    assert over.startswith(b"HTTP/1.1 413") and b"attributes and data" in over
    (r1,) = await exchange(port, post(b"huge", b"x" * (LIMIT + 1)))
    assert r1.startswith(b"HTTP/1.1 413")
    chunk = b"y" * 40_000
    chunked = (b"POST /ns/b HTTP/1.1\r\nHost: x\r\n" + CE % b"huge2" +
               b"Transfer-Encoding: chunked\r\n\r\n" +
               (b"%x\r\n%s\r\n" % (len(chunk), chunk)) * 2 + b"0\r\n\r\n")
    (r2,) = await exchange(port, chunked)
    assert r2.startswith(b"HTTP/1.1 413")
    assert len(store.log["ns/b"]) == 1


async def test_garbage_gets_400_and_store_outage_503(server) -> None:
    store, port = server
    (r,) = await exchange(port, b"NOT HTTP AT ALL\r\n\r\n")
    assert r.startswith(b"HTTP/1.1 400")
    store.available = False
    (r,) = await exchange(port, post(b"x", b"z"))
    assert r.startswith(b"HTTP/1.1 503")
    assert store.log["ns/b"] == []


async def test_error_messages_name_the_attribute(server) -> None:
    _, port = server
    bad = post(b"1", b"z").replace(b"ce-source: /s\r\n", b"")
    (r,) = await exchange(port, bad)
    assert r.startswith(b"HTTP/1.1 400") and b"source" in r


async def test_head_gets_405_without_a_body_and_keeps_the_connection(server) -> None:
    _, port = server
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(b"HEAD /ns/b HTTP/1.1\r\nHost: x\r\n\r\n" + post(b"h", b"z"))
    head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 405")
    nxt = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 5)
    assert nxt.startswith(b"HTTP/1.1 202")
    w.close()


async def test_a_retried_event_is_stored_once(server) -> None:
    store, port = server
    for _ in range(2):  # a producer retrying after a lost 202: still 202, stored once
        (r,) = await exchange(port, post(b"r1", b"a"))
        assert r.startswith(b"HTTP/1.1 202")
    (r,) = await exchange(port, post(b"r2", b"a"))
    assert r.startswith(b"HTTP/1.1 202")
    assert [record.decode(x)[0].id for x in store.log["ns/b"]] == ["r1", "r2"]
