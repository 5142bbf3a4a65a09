"""The queue-proxy process under hostile input (issue 9): pipelining, and a bounded fuzz of
malformed heads and bodies on all four of its listeners."""

from __future__ import annotations

import asyncio

from tests.integration.queue_proxy.conftest import QueueProxy
from tests.support import httpfuzz
from tests.unit.proxy.rawclient import read_response

CODES = (200, 201, 202, 203)


async def pipelined_in_order(port: int, n: int, extra: bytes = b"") -> None:
    """n small GETs in one write; every answer must come, in order."""
    reqs = b"".join(b"GET /status/%d HTTP/1.1\r\nHost: x\r\n%s\r\n" % (CODES[i % 4], extra)
                    for i in range(n))
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(reqs)
    try:
        for i in range(n):
            status, _, _ = await asyncio.wait_for(read_response(reader), 20)
            assert status == CODES[i % 4], (i, status)
    finally:
        writer.close()


async def test_10000_pipelined_gets_are_answered_in_order(qp: QueueProxy) -> None:
    """Issue 9 defect 6: of 5,000 such GETs in one write the queue-proxy answered one, then
    431 and a reset (whenever a read ended inside a head; 400 KB takes several reads)."""
    await pipelined_in_order(qp.port, 10_000)


async def fuzz_listeners(pid: int, ports: list[int], *, seed: int, count: int) -> None:
    """Throw `count` malformed inputs at each port: each gets an answer or a close, the
    process stays up and answers afterwards, and its RSS comes back near baseline."""
    warm = httpfuzz.cases(seed - 1, 60)  # first allocations are not a leak
    for port in ports:
        assert await httpfuzz.run(port, warm, seed=seed - 1) == []
    await asyncio.sleep(0.5)
    before = httpfuzz.rss_mb(pid)
    inputs = httpfuzz.cases(seed, count)
    for port in ports:
        failures = await asyncio.wait_for(httpfuzz.run(port, inputs, seed=seed), 180)
        assert failures == [], failures[:5]
    await asyncio.sleep(1.0)  # linger timers of refused connections run out
    after = httpfuzz.rss_mb(pid)
    assert after - before < 16, (before, after)
    for port in ports:
        head = await asyncio.to_thread(httpfuzz.still_answers, port,
                                       b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 "), (port, head)


async def test_fuzz_every_listener(qp: QueueProxy) -> None:
    await fuzz_listeners(qp.proc.pid, [qp.port, qp.admin_port, qp.metrics_port,
                                       qp.user_metrics_port], seed=9000, count=400)
    assert qp.proc.poll() is None
    out = qp.output()
    assert "Traceback" not in out and '"severity": "ERROR"' not in out, out[-3000:]
