"""The admin port's `/wait-for-drain` (the user container's preStop hook), in-process: it
answers only once the queue-proxy finished draining, and at once when no SIGTERM follows
(a liveness restart)."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from knpy.queue_proxy.admin import AdminHandler
from knpy.queue_proxy.drain import Drainer
from knpy.runtime.proxy import Server

TIMEOUT = aiohttp.ClientTimeout(total=10)


async def _admin(drainer: Drainer, terminating: asyncio.Event,
                 term_wait: float) -> tuple[Server, str]:
    server = Server(AdminHandler(drainer, terminating, term_wait))
    port = await server.listen("127.0.0.1", 0)
    return server, f"http://127.0.0.1:{port}/wait-for-drain"


async def test_wait_for_drain_answers_once_the_drain_finished() -> None:
    """The SIGTERM comes 0.3 s after the hook, later than Knative's 1 s would allow here
    (term_wait 0.2 s stands in for it); the hook still waits, past the quiet period, until
    the process says its in-flight requests are done."""
    drainer, terminating = Drainer(0.1), asyncio.Event()
    server, url = await _admin(drainer, terminating, term_wait=0.5)
    try:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as s:
            hook = asyncio.ensure_future(s.get(url))
            await asyncio.sleep(0.3)
            terminating.set()
            await asyncio.sleep(0.5)  # quiet period over: the process closes its proxy
            assert not hook.done()
            assert drainer.draining
            t0 = time.monotonic()
            drainer.finished.set()
            r = await asyncio.wait_for(hook, 5)
            assert r.status == 200
            assert time.monotonic() - t0 < 0.3
    finally:
        await server.close()


async def test_wait_for_drain_without_sigterm_is_called_off() -> None:
    drainer, terminating = Drainer(30.0), asyncio.Event()
    server, url = await _admin(drainer, terminating, term_wait=0.2)
    try:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as s:
            t0 = time.monotonic()
            async with s.get(url) as r:
                assert r.status == 200
            assert time.monotonic() - t0 < 2
        assert not drainer.draining  # probes pass again for the restarted container
    finally:
        await server.close()


async def test_hook_answered_when_the_admin_server_closes_after_the_drain() -> None:
    """main.py's order: drained -> `finished` -> the admin server closes with a grace, so
    the hook waiting on it gets its 200 instead of a cut connection."""
    drainer, terminating = Drainer(0.0), asyncio.Event()
    terminating.set()
    server, url = await _admin(drainer, terminating, term_wait=5.0)
    async with aiohttp.ClientSession(timeout=TIMEOUT) as s:
        hook = asyncio.ensure_future(s.get(url))
        await asyncio.sleep(0.2)
        drainer.finished.set()
        await server.close(grace=2.0)
        r = await asyncio.wait_for(hook, 5)
        assert r.status == 200
