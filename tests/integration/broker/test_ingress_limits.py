"""Issue 9 against the real ingress process and nats-server: a header flood, slowloris
connections, an event too large for JetStream, and SIGTERM with keep-alive clients."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from pathlib import Path

from tests.integration.broker.conftest import Broker
from tests.integration.broker.test_acceptance import NS, broker_spec

CE = (b"ce-specversion: 1.0\r\nce-id: %s\r\nce-source: /s\r\nce-type: t\r\n"
      b"Content-Type: text/plain\r\n")


async def start_ingress(broker: Broker, *extra: str) -> None:
    broker.extra = list(extra)
    broker.write([broker_spec()], [])
    broker.start("ingress")
    await broker.wait_log("ingress", "contract applied")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def post(eid: bytes, body: bytes = b"z") -> bytes:
    return (b"POST /%s/default HTTP/1.1\r\nHost: x\r\n" % NS.encode() + CE % eid +
            b"Content-Length: %d\r\n\r\n" % len(body) + body)


async def read_response(r: asyncio.StreamReader) -> bytes:
    head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 10)
    n = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    return head + await r.readexactly(n)


async def test_a_200mb_header_flood_gets_431_and_memory_stays_at_baseline(
        broker: Broker) -> None:
    await start_ingress(broker)
    pid = broker.procs["ingress"].pid
    before = rss_mb(pid)
    r, w = await asyncio.open_connection("127.0.0.1", broker.port)
    line = b"X-Flood: " + b"f" * (64 * 1024 - 11) + b"\r\n"
    answer, sent = b"", 0
    w.write(b"POST /default/default HTTP/1.1\r\nHost: x\r\n")
    try:
        while sent < 200 * 1024 * 1024:
            w.write(line)
            sent += len(line)
            try:  # wait a moment per piece so the answer is read before a reset could drop it
                answer = await asyncio.wait_for(r.read(65536), 0.02)
            except TimeoutError:
                continue
            break
    except ConnectionError:
        pass
    finally:
        w.close()
    assert answer.startswith(b"HTTP/1.1 431"), (sent, answer[:200])
    assert rss_mb(pid) - before < 16, (before, rss_mb(pid))


async def test_300_slowloris_connections_get_408_and_are_closed(broker: Broker) -> None:
    await start_ingress(broker, "--header-timeout", "2")

    async def slowloris() -> bytes:
        r, w = await asyncio.open_connection("127.0.0.1", broker.port)
        w.write(b"POST /default/default HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        try:
            for _ in range(40):  # one byte every 0.5 s, 20 s at most
                try:
                    return await asyncio.wait_for(r.read(-1), 0.5)
                except TimeoutError:
                    w.write(b"s")
            return b"still open"
        finally:
            w.close()

    t0 = time.monotonic()
    answers = await asyncio.gather(*(slowloris() for _ in range(300)))
    took = time.monotonic() - t0
    assert all(a.startswith(b"HTTP/1.1 408") for a in answers), \
        {a[:40] for a in answers}
    assert took < 10, took  # head timeout 2 s, checked once a second


async def test_an_event_too_large_for_jetstream_gets_413_and_the_store_stays_up(
        broker: Broker) -> None:
    # A 4 MiB event limit is above nats-server's 1 MiB max_payload: the store refuses it.
    await start_ingress(broker, "--max-event-bytes", str(4 * 1024 * 1024))
    event = {"specversion": "1.0", "id": "big", "source": "/s", "type": "t", "data": "x"}
    event.update({f"ext{n}": "a" * 1000 for n in range(1500)})  # 1.5 MB of attributes
    body = json.dumps(event).encode()
    r, w = await asyncio.open_connection("127.0.0.1", broker.port)
    w.write(b"POST /default/default HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/cloudevents+json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body) + body)
    resp = await read_response(r)
    assert resp.startswith(b"HTTP/1.1 413") and b"too large for the store" in resp, resp
    w.write(post(b"after"))  # same connection, same store connection: still healthy
    assert (await read_response(r)).startswith(b"HTTP/1.1 202")
    w.close()


async def test_sigterm_answers_the_requests_on_open_keepalive_connections(
        broker: Broker) -> None:
    await start_ingress(broker, "--drain-quiet-period", "1")
    proc = broker.procs["ingress"]
    statuses: list[bytes] = []
    failures: list[str] = []
    stop_at: list[float] = []
    warm = asyncio.Event()  # 200 answers in: the clients are in full swing

    async def client(c: int) -> None:
        r, w = await asyncio.open_connection("127.0.0.1", broker.port)
        try:
            n = 0
            while not stop_at or time.monotonic() < stop_at[0]:
                n += 1
                w.write(post(b"c%d-%d" % (c, n)))
                try:
                    statuses.append((await read_response(r))[:12])
                    if len(statuses) >= 200:
                        warm.set()
                except (ConnectionError, asyncio.IncompleteReadError, TimeoutError) as e:
                    failures.append(f"client {c} request {n}: {e!r}")
                    return
        finally:
            w.close()

    clients = [asyncio.create_task(client(c)) for c in range(8)]
    await asyncio.wait_for(warm.wait(), 30)
    os.kill(proc.pid, signal.SIGTERM)
    stop_at.append(time.monotonic() + 0.5)  # the load balancer takes a moment to notice
    await asyncio.gather(*clients)
    assert not failures, failures[:5]
    assert statuses and set(statuses) == {b"HTTP/1.1 202"}, set(statuses)
    code = await asyncio.to_thread(proc.wait, 15)
    broker.procs.pop("ingress")
    assert code == 0, broker.log("ingress")[-2000:]
