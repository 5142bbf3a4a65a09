"""The activator process under hostile conditions (issue 9): a pod that never answers,
pipelining, SIGTERM with the standalone default drain, and a bounded fuzz of malformed
heads and bodies on its listeners."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from typing import Any

import aiohttp

from tests.integration.activator.conftest import ROUTE, Stack, get, until_status
from tests.integration.queue_proxy.test_hardening import fuzz_listeners, pipelined_in_order
from tests.unit.proxy.rawclient import until_closed

_ROUTE_LINES = b"Knative-Serving-Namespace: default\r\nKnative-Serving-Revision: hello\r\n"


async def activator_with_a_pod(stack: Stack, *args: str) -> tuple[int, Any]:
    """User app, queue-proxy and an activator with it as the only backend, once it serves."""
    qp = stack.queue_proxy(stack.user_app())
    port, proc = stack.activator("--revision", "default/hello", "--backend", f"127.0.0.1:{qp}",
                                 *args)
    async with aiohttp.ClientSession() as s:
        await until_status(s, f"http://127.0.0.1:{port}/", 200, 10)
    return port, proc


async def test_pod_that_never_answers_gets_504_after_the_revision_timeout(stack: Stack) -> None:
    """Issue 9 defect 4: with --timeout-seconds 3 a pod that accepted a request and never
    answered held the client for good (no answer after 40 s), and at CC 1 the next
    request with it."""
    # the queue-proxy's own timeout is its default 300 s
    port, _ = await activator_with_a_pod(stack, "--container-concurrency", "1",
                                         "--timeout-seconds", "3")
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as s:
        t0 = time.monotonic()
        stuck = asyncio.create_task(get(s, base + "/sleep?ms=60000", limit=20))
        await asyncio.sleep(1.5)
        nxt = asyncio.create_task(get(s, base + "/", limit=20))  # queued behind it (CC 1)
        assert await stuck == (504, "activator request timeout")
        assert 2.9 < time.monotonic() - t0 < 8
        assert await nxt == (200, "hello")  # the slot was released


async def test_5000_pipelined_gets_are_answered_in_order(stack: Stack) -> None:
    """Issue 9 defect 6: the activator answered 618 of these, then 431 and a reset."""
    port, _ = await activator_with_a_pod(stack)
    await pipelined_in_order(port, 5000, _ROUTE_LINES)


async def test_sigterm_with_default_drain_answers_keep_alive_requests(stack: Stack) -> None:
    """Issue 9: with its standalone default drain period (0) the activator dropped 8
    requests on keep-alive connections at SIGTERM. Every request sent on an open
    connection must be answered; the last answer on each says Connection: close."""
    port, proc = await activator_with_a_pod(stack)
    answered: list[int] = []
    failed: list[str] = []
    request = b"GET /sleep?ms=5 HTTP/1.1\r\nHost: x\r\n" + _ROUTE_LINES + b"\r\n"
    clients = [asyncio.create_task(until_closed(port, request, answered, failed))
               for _ in range(8)]
    await asyncio.sleep(1.0)
    before = len(answered)
    os.kill(proc.pid, signal.SIGTERM)
    await asyncio.wait_for(asyncio.gather(*clients), 30)
    assert failed == [], failed
    assert before > 8 and set(answered) == {200}
    assert await asyncio.to_thread(proc.wait, 15) == 0


async def test_fuzz_every_listener(stack: Stack) -> None:
    port, proc = await activator_with_a_pod(stack)
    async with aiohttp.ClientSession() as s:
        await fuzz_listeners(proc.pid, [port, stack.metrics_port], seed=9100, count=400)
        assert await get(s, f"http://127.0.0.1:{port}/", ROUTE) == (200, "hello")
    assert proc.poll() is None
    out = "".join(p.read_text(errors="replace") for p in stack.logdir.glob("activator-*.log"))
    assert "Traceback" not in out and '"severity": "ERROR"' not in out, out
