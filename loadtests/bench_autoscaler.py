"""Cold start of the standalone stack, against the bare user app's own start, in one run.

Baseline: spawn the user app (`tests.apps.userapp`) and time spawn -> first 200.
Measured: a revision at zero behind the knpy activator, autoscaler (process scale target)
and queue-proxy; time one request from send to 200. It covers the activator's poke, the
decision, starting user app + queue-proxy, readiness probing, the endpoints update and the
proxied request. Three revisions, one cold start each; everything on 127.0.0.1 and stopped
by PID at the end.

RESULT stack_cold_start_ms <median> ms
RESULT app_start_ms <median> ms
RESULT stack_cold_start_vs_app_start <ratio> x
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from importlib.util import find_spec
from pathlib import Path

import aiohttp
import yaml

from tests.support.procs import free_port, python_module, running, spawn, stop

REPO = Path(__file__).resolve().parents[1]

REVISIONS = ("cold-a", "cold-b", "cold-c")
USER = [sys.executable, "-m", "tests.apps.userapp", "--port"]


async def first_ok(url: str, deadline_s: float = 20.0) -> None:
    end = time.monotonic() + deadline_s
    async with aiohttp.ClientSession() as s:
        while time.monotonic() < end:
            try:
                async with s.get(url) as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.002)
    raise TimeoutError(url)


async def app_start_ms() -> float:
    port = free_port()
    t0 = time.monotonic()
    proc = spawn([*USER, str(port)])
    try:
        await first_ok(f"http://127.0.0.1:{port}/")
        return (time.monotonic() - t0) * 1000
    finally:
        stop(proc)


def wait_endpoints(path: Path, count: int, within: float = 20.0) -> None:
    """Block until the autoscaler's endpoints file lists `count` revisions."""
    end = time.monotonic() + within
    while not path.exists() or len(json.loads(path.read_text())) < count:
        if time.monotonic() > end:
            raise TimeoutError(f"{path} never listed {count} revisions")
        time.sleep(0.05)


async def stack_cold_starts(tmp: Path) -> list[float]:
    endpoints = tmp / "endpoints.json"
    cfg = tmp / "autoscaler.yaml"
    cfg.write_text(yaml.safe_dump({
        "config": {"initial-scale": "0", "allow-zero-initial-scale": "true"},
        "revisions": [{"name": n, "process": {
            "user": [*USER, "{user}"], "stopTimeoutSeconds": 5,
            "queueProxyEnv": {"QUEUE_DRAIN_QUIET_PERIOD_SECONDS": "1"}}} for n in REVISIONS]}))
    as_port, act_port = free_port(), free_port()
    with running(python_module("knpy.autoscaler", "--host", "127.0.0.1", "--port", str(as_port),
                               "--config", str(cfg), "--endpoints-file", str(endpoints),
                               "--log-level", "warning"), port=as_port, ready_timeout=20):
        wait_endpoints(endpoints, len(REVISIONS))
        with running(python_module("knpy.activator", "--host", "127.0.0.1", "--port",
                                   str(act_port), "--h2c-port", str(free_port()),
                                   "--config", str(endpoints), "--log-level", "warning",
                                   "--autoscaler-url", f"ws://127.0.0.1:{as_port}/"),
                     port=act_port, ready_timeout=20):
            await asyncio.sleep(1.5)  # the activator's stats websocket connects
            out = []
            async with aiohttp.ClientSession() as s:
                for name in REVISIONS:
                    headers = {"Knative-Serving-Namespace": "default",
                               "Knative-Serving-Revision": name}
                    t0 = time.monotonic()
                    async with s.get(f"http://127.0.0.1:{act_port}/", headers=headers,
                                     timeout=aiohttp.ClientTimeout(total=30)) as r:
                        body = await r.text()
                        if r.status != 200:
                            raise RuntimeError(f"{name}: {r.status} {body}")
                    out.append((time.monotonic() - t0) * 1000)
            return out


async def main() -> int:
    missing = [m for m in ("knpy.activator", "knpy.queue_proxy") if find_spec(m) is None]
    if missing:
        print(f"skipped: {missing} not installed")
        return 0
    apps = [await app_start_ms() for _ in range(3)]
    with tempfile.TemporaryDirectory() as d:
        cold = await stack_cold_starts(Path(d))
    app_ms, cold_ms = statistics.median(apps), statistics.median(cold)
    print(f"app start runs (ms): {[round(x) for x in apps]}")
    print(f"stack cold start runs (ms): {[round(x) for x in cold]}")
    print(f"RESULT stack_cold_start_ms {cold_ms:.0f} ms")
    print(f"RESULT app_start_ms {app_ms:.0f} ms")
    print(f"RESULT stack_cold_start_vs_app_start {cold_ms / app_ms:.2f} x")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
