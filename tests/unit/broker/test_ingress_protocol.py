"""The ingress HTTP server over a real 127.0.0.1 socket, with the test-only memory store:
HTTP/1.1 framing (chunked, 100-continue, pipelining, limits, garbage) and 503."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import random
import time
from collections.abc import AsyncIterator

import pytest

from knpy.broker import ingress as ing
from knpy.broker import record
from knpy.runtime.contract.eventing import BrokerSpec, EventingContract
from knpy.runtime.proxy import ProxyOptions
from tests.support.memstore import MemoryStore

CE = (b"ce-specversion: 1.0\r\nce-id: %s\r\nce-source: /s\r\nce-type: t\r\n"
      b"Content-Type: text/plain\r\n")
LIMIT = 64 * 1024
OPTIONS = ProxyOptions(header_timeout=1.0)


@contextlib.asynccontextmanager
async def serving(store: MemoryStore, limit: int = LIMIT) -> AsyncIterator[int]:
    """The ingress for broker ns/b over `store`, listening on a free port."""
    await store.ensure_broker("ns/b")
    i = ing.Ingress(store, limit)
    i.set_contract(EventingContract(brokers=(BrokerSpec("ns", "b"),)))
    srv = ing.server(i, OPTIONS, body_timeout=1.0)
    try:
        yield await srv.listen("127.0.0.1", 0)
    finally:
        await srv.close()


@pytest.fixture
async def server() -> AsyncIterator[tuple[MemoryStore, int]]:
    store = MemoryStore()
    async with serving(store) as port:
        yield store, port


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


# ------------------------------------------------------------------ issue 9: hardening

async def read_all(r: asyncio.StreamReader, limit: float = 10.0) -> bytes:
    """Everything until the server closes the connection (fails on a hang)."""
    return await asyncio.wait_for(r.read(-1), limit)


async def flood_head(port: int, total: int, piece: int = 16 * 1024) -> bytes:
    """Send a request head of `total` bytes of header lines, a piece at a time, and return
    whatever the server answers. The client waits a moment after each piece so the server's
    answer is read before more bytes would make the kernel reset the closed connection."""
    r, w = await asyncio.open_connection("127.0.0.1", port)
    try:
        w.write(b"POST /ns/b HTTP/1.1\r\nHost: x\r\n")
        line = b"X-Pad: " + b"p" * (piece - 9) + b"\r\n"
        for _ in range(total // piece):
            w.write(line)
            try:
                first = await asyncio.wait_for(r.read(65536), 0.02)
            except TimeoutError:
                continue
            return first + await read_all(r)
        return await read_all(r)
    finally:
        w.close()


async def test_request_head_over_64k_gets_431_and_a_close(server) -> None:
    store, port = server
    out = await flood_head(port, 1024 * 1024)
    assert out.startswith(b"HTTP/1.1 431")
    assert store.log["ns/b"] == []


async def test_incomplete_request_head_gets_408_after_the_head_timeout(server) -> None:
    _, port = server
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(b"POST /ns/b HTTP/1.1\r\nHost: x\r\nce-id: slow")
    out = await read_all(r, 5.0)  # head timeout 1 s, checked once a second
    w.close()
    assert out.startswith(b"HTTP/1.1 408")


async def test_incomplete_request_body_gets_408_after_the_body_timeout(server) -> None:
    store, port = server
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(post(b"slow", b"0123456789")[:-6])  # 4 of 10 body bytes, then nothing
    out = await read_all(r, 5.0)  # body timeout 1 s, checked once a second
    w.close()
    assert out.startswith(b"HTTP/1.1 408") and b"body timeout" in out
    assert store.log["ns/b"] == []


async def test_deeply_nested_structured_event_gets_400_not_a_hang(server) -> None:
    store, port = server
    body = (b'{"specversion":"1.0","id":"deep","source":"/s","type":"t","data":'
            + b"[" * 5000 + b"]" * 5000 + b"}")
    req = (b"POST /ns/b HTTP/1.1\r\nHost: x\r\nContent-Type: application/cloudevents+json\r\n"
           b"Content-Length: %d\r\n\r\n" % len(body) + body)
    (r,) = await exchange(port, req)
    assert r.startswith(b"HTTP/1.1 400") and b"nested too deeply" in r
    assert store.log["ns/b"] == []


async def test_attributes_count_against_the_event_size_limit() -> None:
    store = MemoryStore()
    async with serving(store, 16 * 1024) as port:
        attrs = b"".join(b"ce-ext%d: %s\r\n" % (n, b"a" * 1000) for n in range(40))
        (r,) = await exchange(port, post(b"attrs", b"zz", extra=attrs))
        assert r.startswith(b"HTTP/1.1 413") and b"attributes and data" in r
        (r,) = await exchange(port, post(b"small", b"zz", extra=attrs[:5000]))
        assert r.startswith(b"HTTP/1.1 202")
        assert [record.decode(x)[0].id for x in store.log["ns/b"]] == ["small"]


async def test_event_too_large_for_the_store_gets_413_not_503() -> None:
    from knpy.broker.store import EventTooLarge

    class SmallStore(MemoryStore):
        async def append(self, broker: str, blob: bytes, key: str | None = None) -> None:
            if len(blob) > 1000:
                raise EventTooLarge(f"{len(blob)} bytes; the store takes at most 1000")
            await super().append(broker, blob, key)

    async with serving(SmallStore()) as port:
        (r,) = await exchange(port, post(b"big", b"x" * 2000))
        assert r.startswith(b"HTTP/1.1 413") and b"too large for the store" in r
        (r,) = await exchange(port, post(b"ok", b"x"))
        assert r.startswith(b"HTTP/1.1 202")


async def test_specversion_03_is_accepted_and_stored_as_10(server) -> None:
    store, port = server
    binary = post(b"v03", b"{}").replace(b"ce-specversion: 1.0", b"ce-specversion: 0.3")
    binary = binary.replace(b"ce-type: t\r\n", b"ce-type: t\r\nce-schemaurl: http://s/x\r\n")
    (r,) = await exchange(port, binary)
    assert r.startswith(b"HTTP/1.1 202")
    body = (b'{"specversion":"0.3","id":"s03","source":"/s","type":"t",'
            b'"datacontentencoding":"base64","data":"aGk="}')
    structured = (b"POST /ns/b HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/cloudevents+json\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body) + body)
    (r,) = await exchange(port, structured)
    assert r.startswith(b"HTTP/1.1 202")
    (ev1, _), (ev2, _) = (record.decode(x) for x in store.log["ns/b"])
    assert ev1.attributes["specversion"] == "1.0"
    assert ev1.attributes["dataschema"] == "http://s/x"
    assert ev2.attributes["specversion"] == "1.0" and ev2.data == b"hi"
    assert "datacontentencoding" not in ev2.attributes


# ------------------------------------------------------------------ bounded fuzz

def _valid_requests() -> list[bytes]:
    structured = (b'{"specversion":"1.0","id":"f","source":"/s","type":"t",'
                  b'"data":{"a":[1,2,{"b":"c"}]}}')
    deep = structured.replace(b'{"a":[1,2,{"b":"c"}]}', b"[" * 4000 + b"]" * 4000)
    body = b"hello fuzz"
    return [
        post(b"f1", b'{"x":1}'),
        b"POST /ns/b HTTP/1.1\r\nHost: x\r\nContent-Type: application/cloudevents+json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(structured) + structured,
        b"POST /ns/b HTTP/1.1\r\nHost: x\r\n" + CE % b"f2" +
        b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(body), body),
        b"OPTIONS /ns/b HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /ns/b HTTP/1.1\r\nHost: x\r\nContent-Type: application/cloudevents+json\r\n"
        b"Content-Length: %d\r\n\r\n" % (len(deep)) + deep,
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    ]


_NASTY = [b"\x00", b"\r", b"\n", b"\r\n", b"\xff\xfe", b":", b" ", b"\t", b"%", b"%ZZ",
          b"\r\n\r\n", b"Content-Length: 5\r\n", b"Transfer-Encoding: chunked\r\n",
          b"Content-Length: -1\r\n", b"Content-Length: 99999999999999999999\r\n",
          b"Transfer-Encoding: gzip, chunked\r\n", b"Connection: upgrade\r\nUpgrade: x\r\n",
          b"Expect: 100-continue\r\n", b"ffffffffffffffffff\r\n", b"zz\r\n", b"HTTP/2.0",
          b"ce-specversion: 0.3\r\n", b"ce-knativebrokerttl: 1\r\n", b"ce-id: \r\n",
          b"Content-Type: application/cloudevents+json\r\n", b'{"data":' + b"[" * 3000]


def _mutate(rng: random.Random, data: bytes) -> bytes:
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(8)
        at = rng.randrange(len(data) + 1)
        if op == 0 and data:  # flip bytes
            b = bytearray(data)
            for _ in range(rng.randint(1, 8)):
                b[rng.randrange(len(b))] = rng.randrange(256)
            data = bytes(b)
        elif op == 1:
            data = data[:at] + rng.choice(_NASTY) + data[at:]
        elif op == 2:
            data = data[:at]  # truncated anywhere
        elif op == 3:
            data = data[:at] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 64))) \
                + data[at:]
        elif op == 4:
            end = min(len(data), at + rng.randint(1, 200))
            data = data[:end] + data[at:end] * rng.randint(1, 50) + data[end:]
        elif op == 5:  # an oversized header or request line
            data = data[:at] + b"X" * rng.choice((1000, 70_000, 200_000)) + data[at:]
        elif op == 6:  # many small headers
            first = data.find(b"\r\n") + 2
            data = data[:first] + b"X-A: b\r\n" * rng.randint(100, 9000) + data[first:]
        else:  # another request pipelined behind
            data = data + rng.choice(_valid_requests())
    return data


async def _throw(port: int, data: bytes) -> bytes:
    r, w = await asyncio.open_connection("127.0.0.1", port)
    try:
        w.write(data)
        w.write_eof()  # a client that is done sending: the server must answer or close
        return await asyncio.wait_for(r.read(-1), 10)
    except ConnectionResetError:
        return b""  # a close (the server hung up on unread garbage)
    finally:
        w.close()


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


async def test_fuzzed_heads_and_bodies_get_an_answer_or_a_close(
        server, caplog: pytest.LogCaptureFixture) -> None:
    """Seeded and bounded: 400 malformed requests, 10 at a time, under a minute. Each gets
    HTTP/1.1 responses or a closed connection, never a hang (10 s each) or a traceback;
    the process's memory comes back near where it started."""
    _, port = server
    rng = random.Random(20260609)
    valid = _valid_requests()
    cases = [_mutate(rng, rng.choice(valid)) for _ in range(400)]
    caplog.set_level(logging.ERROR)
    unhandled: list[dict] = []  # exceptions nobody awaited (a request task that died)
    asyncio.get_running_loop().set_exception_handler(lambda _, ctx: unhandled.append(ctx))
    await asyncio.gather(*(_throw(port, c) for c in cases[:20]))  # warm up
    gc.collect()
    before = _rss_mb()
    deadline = time.monotonic() + 60
    for i in range(20, len(cases), 10):
        assert time.monotonic() < deadline, "fuzzing took longer than a minute"
        batch = cases[i:i + 10]
        outs = await asyncio.gather(*(_throw(port, c) for c in batch))
        for case, out in zip(batch, outs, strict=True):
            assert out == b"" or out.startswith(b"HTTP/1.1 "), (case[:300], out[:300])
    gc.collect()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]
    assert not unhandled, [c.get("message") for c in unhandled]
    assert _rss_mb() - before < 40, (before, _rss_mb())
