"""The standalone serving stack on 127.0.0.1, no Kubernetes: the autoscaler's process
scale target runs user app + queue-proxy pods, the activator follows the autoscaler's
endpoints file and streams its stats back over the websocket.

A first request at zero must succeed; load keeps answering 200; the revision goes back to
zero after the stable window and grace, only once the activator answers its probe."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

import aiohttp

from tests.integration.autoscaler.conftest import KEY, ROUTE, STACK
from tests.support.poll import eventually
from tests.support.procs import free_port, python_module, running

pytestmark = STACK


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_scale_from_zero_through_the_activator_and_back(start_autoscaler, tmp_path: Path,
                                                              logdir: Path) -> None:
    act_port = free_port()
    endpoints = tmp_path / "endpoints.json"
    a = start_autoscaler({
        "config": {"stable-window": "6s", "panic-window-percentage": "50",
                   "scale-to-zero-grace-period": "6s", "initial-scale": "0",
                   "allow-zero-initial-scale": "true"},
        "revisions": [{
            "name": "hello",
            "annotations": {"autoscaling.knative.dev/target": "2",
                            "autoscaling.knative.dev/target-utilization-percentage": "100"},
            "activatorProbeUrl": f"http://127.0.0.1:{act_port}/",
            "process": {"user": [sys.executable, "-m", "tests.apps.userapp", "--port", "{user}"],
                        "queueProxyEnv": {"QUEUE_DRAIN_QUIET_PERIOD_SECONDS": "1"},
                        "stopTimeoutSeconds": 10, "logDir": str(logdir)}}]},
        "--endpoints-file", str(endpoints))
    await eventually(endpoints.exists, 5, "the autoscaler's endpoints file", every=0.05)
    assert json.loads(endpoints.read_text())[KEY]["pods"] == []

    with running(python_module("knpy.activator", "--host", "127.0.0.1", "--port", str(act_port),
                               "--h2c-port", str(free_port()), "--config", str(endpoints),
                               "--autoscaler-url", f"ws://127.0.0.1:{a.port}/"),
                 port=act_port, log_path=logdir / "activator.log", ready_timeout=15):
        url = f"http://127.0.0.1:{act_port}/"
        seen_pids: set[int] = set()
        async with aiohttp.ClientSession() as s:
            # The first request at zero is held by the activator and succeeds.
            t0 = time.monotonic()
            async with s.get(url, headers=ROUTE,
                             timeout=aiohttp.ClientTimeout(total=20)) as resp:
                assert resp.status == 200, await resp.text()
                assert await resp.text() == "hello"
            cold = time.monotonic() - t0
            st = await a.status(s, KEY)
            assert st["readyPods"] >= 1
            seen_pids.update(st["pids"])

            # Steady load through the activator: every answer is a 200.
            statuses: dict[int, int] = {}

            async def client(n: int) -> None:
                for _ in range(n):
                    async with s.get(f"{url}sleep?ms=100", headers=ROUTE) as r:
                        await r.read()
                        statuses[r.status] = statuses.get(r.status, 0) + 1

            await asyncio.gather(*(client(20) for _ in range(6)))
            assert statuses == {200: 120}
            seen_pids.update((await a.status(s, KEY))["pids"])

            # Idle: the activator is probed, then the pods go.
            st = await a.wait_for(s, KEY, lambda st: st["appliedScale"] == 0 and not st["pids"],
                                  45, "scale to zero through the activator")
            assert st["activatorInPath"] is True and st["mode"] == "Proxy"
            assert json.loads(endpoints.read_text())[KEY]["pods"] == []
            assert not [p for p in seen_pids if alive(p)]

            # And from zero once more.
            t1 = time.monotonic()
            async with s.get(url, headers=ROUTE,
                             timeout=aiohttp.ClientTimeout(total=20)) as resp:
                assert resp.status == 200
            cold2 = time.monotonic() - t1
    print(f"first request from zero {cold * 1000:.0f} ms, again {cold2 * 1000:.0f} ms; "
          f"load {statuses}")
