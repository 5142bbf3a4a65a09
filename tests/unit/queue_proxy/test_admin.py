"""The admin port's `/wait-for-drain` (the user container's preStop hook), in-process: it
answers only once the queue-proxy finished draining, whatever slashes the kubelet puts in
front of the path, and at once when no SIGTERM follows (a liveness restart)."""

from __future__ import annotations

import asyncio
import time

import pytest

from knpy.queue_proxy.admin import AdminHandler
from knpy.queue_proxy.drain import Drainer
from knpy.runtime.proxy import Server


async def _admin(drainer: Drainer, terminating: asyncio.Event,
                 term_wait: float = 1.0) -> tuple[Server, int]:
    server = Server(AdminHandler(drainer, terminating, term_wait))
    return server, await server.listen("127.0.0.1", 0)


async def _get(port: int, target: str) -> bytes:
    """The status line of `GET target`, sent as the kubelet sends it (raw: no client
    library normalizes the target)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"GET {target} HTTP/1.1\r\nHost: 10.0.0.1:8022\r\n"
                     "User-Agent: Go-http-client/1.1\r\n\r\n".encode())
        return (await reader.readline()).rstrip()
    finally:
        writer.close()


@pytest.mark.parametrize("target", ["/wait-for-drain", "//wait-for-drain"])
async def test_hook_waits_until_the_drain_finished(target: str) -> None:
    """Kubelets before 1.26 send `//wait-for-drain` (URL = `http://ip:port/` + path): it is
    the drain hook too. It answered 404 at once, and the kubelet, which ignores the status,
    stopped the user container while the pod still got requests."""
    drainer, terminating = Drainer(0.1), asyncio.Event()
    server, port = await _admin(drainer, terminating)
    try:
        hook = asyncio.ensure_future(_get(port, target))
        await asyncio.sleep(0.05)
        terminating.set()  # the kubelet's SIGTERM to the queue-proxy
        await asyncio.sleep(0.5)  # quiet period over: the process closes its proxy
        assert not hook.done()
        assert drainer.draining
        t0 = time.monotonic()
        drainer.finished.set()  # in-flight requests done
        assert await asyncio.wait_for(hook, 5) == b"HTTP/1.1 200 OK"
        assert time.monotonic() - t0 < 0.3
    finally:
        await server.close()


async def test_other_paths_are_not_found() -> None:
    drainer, terminating = Drainer(30.0), asyncio.Event()
    server, port = await _admin(drainer, terminating)
    try:
        for target in ("/", "/wait-for-drain/x", "/x//wait-for-drain"):
            assert (await _get(port, target)).startswith(b"HTTP/1.1 404"), target
        assert not drainer.draining
    finally:
        await server.close()


async def test_hook_without_sigterm_calls_the_drain_off() -> None:
    drainer, terminating = Drainer(30.0), asyncio.Event()
    server, port = await _admin(drainer, terminating, term_wait=0.2)
    try:
        t0 = time.monotonic()
        assert await asyncio.wait_for(_get(port, "/wait-for-drain"), 5) == b"HTTP/1.1 200 OK"
        assert time.monotonic() - t0 < 2
        assert not drainer.draining  # probes pass again for the restarted container
    finally:
        await server.close()


async def test_hook_answered_when_the_admin_server_closes_after_the_drain() -> None:
    """main.py's order: drained -> `finished` -> the admin server closes with a grace, so
    the waiting hook gets its 200 instead of a cut connection."""
    drainer, terminating = Drainer(0.0), asyncio.Event()
    terminating.set()
    server, port = await _admin(drainer, terminating)
    hook = asyncio.ensure_future(_get(port, "/wait-for-drain"))
    await asyncio.sleep(0.2)
    drainer.finished.set()
    await server.close(grace=2.0)
    assert await asyncio.wait_for(hook, 5) == b"HTTP/1.1 200 OK"
