"""The activator with a real autoscaler (`python -m knpy.autoscaler`): its stats arrive over
the websocket, its first request pokes a revision at zero, and the whole loopback round
trip works: scale from zero with the first request succeeding, the autoscaler's process
scale target starting the pod and publishing it through its endpoints file, which the
activator follows."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from tests.integration.activator.conftest import Stack, get
from tests.support.poll import eventually
from tests.support.procs import free_port, stop

pytestmark = pytest.mark.slow

ZERO = {"initial-scale": "0", "allow-zero-initial-scale": "true", "stable-window": "6s",
        "scale-to-zero-grace-period": "6s"}


async def status(s: aiohttp.ClientSession, port: int) -> dict:
    async with s.get(f"http://127.0.0.1:{port}/api/v1/revisions/default/hello") as r:
        assert r.status == 200, await r.text()
        return await r.json()


async def test_stats_stream_and_poke_reach_a_real_autoscaler(stack: Stack) -> None:
    # A long tick: a decision within a few seconds can only come from the poke.
    asp = stack.autoscaler({"config": ZERO, "revisions": [{"name": "hello", "pods": []}]},
                           "--tick-interval", "60")
    port, _ = stack.activator("--revision", "default/hello", "--timeout-seconds", "30",
                              "--autoscaler-url", f"ws://127.0.0.1:{asp}/")
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as s:
        await eventually(lambda: "stats stream connected" in stack.log("autoscaler-"), 10,
                         "the activator's websocket")
        assert (await status(s, asp))["desiredScale"] in (-1, 0)
        held = [asyncio.create_task(get(s, base + "/")) for _ in range(4)]
        # The autoscaler ticks every 60 s here: a decision this soon is the poke's.
        await eventually(lambda: _desired_at_least(s, asp, 1), 10, "the poke's decision")
        # The once-a-second reports carry the 4 held requests as concurrency.
        st = await eventually(lambda: _stable_at_least(s, asp, 1.0), 10,
                              "reported concurrency")
        assert st["desiredScale"] >= 1
        for t in held:
            t.cancel()
        await asyncio.gather(*held, return_exceptions=True)
    act_log = stack.log("activator-")
    assert "stats stream to" in act_log and "connected" in act_log


async def test_stats_stream_survives_an_autoscaler_restart(stack: Stack) -> None:
    doc = {"config": ZERO, "revisions": [{"name": "hello", "pods": []}]}
    asp = stack.autoscaler(doc, "--tick-interval", "60", name="autoscaler-first")
    port, _ = stack.activator("--revision", "default/hello", "--timeout-seconds", "30",
                              "--autoscaler-url", f"ws://127.0.0.1:{asp}/")
    await eventually(lambda: "stats stream connected" in stack.log("autoscaler-first"), 10,
                     "the first websocket")
    stop(stack.procs[0])  # the autoscaler goes away ...
    stack.autoscaler(doc, "--tick-interval", "60", port=asp, name="autoscaler-second")
    # ... and comes back on the same address: the activator reconnects by itself
    await eventually(lambda: "stats stream connected" in stack.log("autoscaler-second"), 15,
                     "the reconnected websocket")
    async with aiohttp.ClientSession() as s:
        held = asyncio.create_task(get(s, f"http://127.0.0.1:{port}/"))
        await eventually(lambda: _desired_at_least(s, asp, 1), 10, "the poke after restart")
        held.cancel()
        await asyncio.gather(held, return_exceptions=True)


async def _desired_at_least(s: aiohttp.ClientSession, port: int, n: int) -> dict | None:
    st = await status(s, port)
    return st if st["desiredScale"] >= n else None


async def _stable_at_least(s: aiohttp.ClientSession, port: int, c: float) -> dict | None:
    st = await status(s, port)
    return st if (st["stableAverage"] or 0) >= c else None


async def test_scale_from_zero_round_trip(stack: Stack, tmp_path: Path, logdir: Path) -> None:
    endpoints = tmp_path / "endpoints.json"
    act_port = free_port()  # the autoscaler confirms the activator is in the path here
    doc = {"config": ZERO, "revisions": [{
        "name": "hello",
        "activatorProbeUrl": f"http://127.0.0.1:{act_port}/",
        "annotations": {"autoscaling.knative.dev/target": "5"},
        "process": {"user": [sys.executable, "-m", "tests.apps.userapp", "--port", "{user}"],
                    "queueProxyEnv": {"QUEUE_DRAIN_QUIET_PERIOD_SECONDS": "1"},
                    "stopTimeoutSeconds": 5, "logDir": str(logdir)}}]}
    asp = stack.autoscaler(doc, "--endpoints-file", str(endpoints))
    await eventually(endpoints.exists, 10, "the autoscaler's endpoints file")
    assert json.loads(endpoints.read_text())["default/hello"]["pods"] == []

    proc = stack._start(f"activator-{act_port}", [
        sys.executable, "-m", "knpy.activator", "--host", "127.0.0.1", "--port", str(act_port),
        "--metrics-port", str(free_port()),
        "--config", str(endpoints), "--autoscaler-url", f"ws://127.0.0.1:{asp}/",
        "--log-level", "debug"], act_port)
    assert proc.poll() is None
    base = f"http://127.0.0.1:{act_port}"
    async with aiohttp.ClientSession() as s:
        await eventually(lambda: "stats stream connected" in stack.log("autoscaler-"), 10,
                         "the activator's websocket")
        t0 = time.monotonic()
        # The very first request, at zero pods, succeeds.
        status_code, body = await get(s, base + "/", limit=30)
        cold = time.monotonic() - t0
        assert (status_code, body) == (200, "hello"), stack.log("activator-")
        st = await status(s, asp)
        assert st["readyPods"] >= 1 and st["pids"]
        # Steady traffic through the activator: no 5xx.
        results = await asyncio.gather(*(get(s, base + "/sleep?ms=20") for _ in range(40)))
        assert all(r == (200, "slept 20") for r in results)
        # Idle: back to zero (after stable window + grace), and the activator follows.
        await eventually(lambda: _pods_in_file(endpoints) == 0, 45, "scale back to zero",
                         every=0.5)
        await eventually(lambda: _no_pids(s, asp), 20, "pod processes gone")
        # And from zero again: still the first request succeeds.
        assert await get(s, base + "/", limit=30) == (200, "hello")
    print(f"cold start through the activator: {cold * 1000:.0f} ms")


def _pods_in_file(path: Path) -> int:
    return len(json.loads(path.read_text())["default/hello"]["pods"])


async def _no_pids(s: aiohttp.ClientSession, port: int) -> dict | None:
    st = await status(s, port)
    return st if not st["pids"] else None
