"""A new pod announces itself: the activator serves held requests from it before any source
lists it (on a cluster, before the kubelet reports the pod's IP). Real activator, queue-proxy
and user app processes on loopback; the activator's file never lists the pod."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from knpy.runtime.contract import announce
from tests.integration.activator.conftest import Stack, get, write_config
from tests.support.poll import eventually
from tests.support.procs import free_port

KEY = "a-test-key-of-some-length"


def _activator(stack: Stack, tmp_path: Path) -> tuple[str, int]:
    cfg = tmp_path / "activator.yaml"
    write_config(cfg, [{"name": "hello", "backends": []}])
    ann = free_port()
    port, _ = stack.activator("--config", str(cfg), "--announce-port", str(ann),
                              env={announce.KEY_ENV: KEY})
    return f"http://127.0.0.1:{port}", ann


async def _counter(s: aiohttp.ClientSession, metrics_port: int, result: str, n: int) -> bool:
    async with s.get(f"http://127.0.0.1:{metrics_port}/metrics") as r:
        text = await r.text()
    return f'activator_announcements_total{{result="{result}"}} {n}' in text


async def test_held_requests_go_to_a_pod_that_announced_itself(stack: Stack,
                                                                tmp_path: Path) -> None:
    base, ann = _activator(stack, tmp_path)
    async with aiohttp.ClientSession() as s:
        held = [asyncio.create_task(get(s, f"{base}/sleep?ms=10")) for _ in range(3)]
        await asyncio.sleep(0.5)
        assert not any(t.done() for t in held)
        app = stack.user_app()
        stack.queue_proxy(app, env={
            "ACTIVATOR_ANNOUNCE_ADDRESS": f"127.0.0.1:{ann}",
            "QUEUE_ANNOUNCE_TOKEN": announce.token(KEY.encode(), "default", "hello")})
        results = await asyncio.wait_for(asyncio.gather(*held), 20)
        assert results == [(200, "slept 10")] * 3
        assert await _counter(s, stack.metrics_port, "accepted", 1)
    assert "announced to 1 of 1 activator(s)" in stack.log("qp-")
    assert "announced itself" in stack.log("activator-")


async def test_a_bad_token_is_refused_and_the_pod_gets_nothing(stack: Stack,
                                                               tmp_path: Path) -> None:
    base, ann = _activator(stack, tmp_path)
    async with aiohttp.ClientSession() as s:
        held = asyncio.create_task(get(s, f"{base}/sleep?ms=10", limit=60))
        app = stack.user_app()
        # a token for another revision
        stack.queue_proxy(app, env={
            "ACTIVATOR_ANNOUNCE_ADDRESS": f"127.0.0.1:{ann}",
            "QUEUE_ANNOUNCE_TOKEN": announce.token(KEY.encode(), "default", "other")})
        await eventually(lambda: _counter(s, stack.metrics_port, "forbidden", 1), 15,
                         "the announcement refused")
        await asyncio.sleep(0.5)
        assert not held.done()
        held.cancel()

        url = f"http://127.0.0.1:{ann}/announce/default/hello"
        good = {announce.TOKEN_HEADER: announce.token(KEY.encode(), "default", "hello"),
                announce.PORT_HEADER: "8012"}
        cases = [
            ("GET", url, good, 405),
            ("POST", f"http://127.0.0.1:{ann}/announce/default", good, 400),
            ("POST", url, {**good, announce.PORT_HEADER: "0"}, 400),
            ("POST", url, {announce.PORT_HEADER: "8012"}, 403),
            ("POST", f"http://127.0.0.1:{ann}/announce/default/nope",
             {**good, announce.TOKEN_HEADER: announce.token(KEY.encode(), "default", "nope")},
             404),
        ]
        for method, target, headers, want in cases:
            async with s.request(method, target, headers=headers) as r:
                body = await r.text()
                assert r.status == want, (method, target, r.status, body)
        async with s.post(url, headers={announce.PORT_HEADER: "x"}) as r:
            assert r.status == 400 and announce.PORT_HEADER in await r.text()
