"""Real processes on 127.0.0.1: the user app (tests/apps/userapp.py) and the queue-proxy
(`python -m knpy.queue_proxy`), each on free ports, torn down by PID."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from tests.support.procs import REPO, free_port, python_module, spawn, stop, wait_port


@dataclass
class QueueProxy:
    proc: subprocess.Popen
    port: int
    admin_port: int
    metrics_port: int
    user_metrics_port: int
    user_port: int
    log: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    async def gauges(self, s: aiohttp.ClientSession) -> dict[str, float]:
        """The Prometheus metrics (:9091) by name, labels dropped; queue_depth and
        queue_inflight_requests are the breaker's live state."""
        async with s.get(f"http://127.0.0.1:{self.user_metrics_port}/metrics") as r:
            text = await r.text()
        return {line.split("{", 1)[0]: float(line.rsplit(" ", 1)[1])
                for line in text.splitlines() if line and not line.startswith("#")}

    async def probe(self, s: aiohttp.ClientSession) -> int:
        async with s.get(self.url + "/", headers={"K-Network-Probe": "queue"}) as r:
            return r.status


def qp_env(user_port: int, **extra: str) -> dict[str, str]:
    env = {
        "USER_PORT": str(user_port),
        "QUEUE_SERVING_PORT": str(free_port()),
        "QUEUE_ADMIN_PORT": str(free_port()),
        "QUEUE_METRICS_PORT": str(free_port()),
        "QUEUE_USER_METRICS_PORT": str(free_port()),
        "QUEUE_LISTEN_HOST": "127.0.0.1",
        "CONTAINER_CONCURRENCY": "0",
        "REVISION_TIMEOUT_SECONDS": "30",
        "QUEUE_DRAIN_QUIET_PERIOD_SECONDS": "1",
        "SERVING_NAMESPACE": "default",
        "SERVING_REVISION": "hello-00001",
        "SERVING_CONFIGURATION": "hello",
        "SERVING_POD": "hello-00001-deployment-abc",
        "SERVING_POD_IP": "127.0.0.1",
    }
    env.update(extra)
    return env


@pytest.fixture
def user_app(logdir: Path) -> Iterator[int]:
    """The user app on a free port; yields the port."""
    port = free_port()
    proc = spawn(python_module("tests.apps.userapp", "--port", str(port)),
                 log_path=logdir / "userapp.log", cwd=REPO)
    try:
        wait_port(port, proc=proc, timeout=20)
        yield port
    finally:
        stop(proc)


@pytest.fixture
def start_qp(logdir: Path) -> Iterator:  # type: ignore[type-arg]
    """Factory: start a queue-proxy with env overrides; every one is stopped at teardown."""
    procs: list[subprocess.Popen] = []

    def start(user_port: int, wait: bool = True, **extra: str) -> QueueProxy:
        env = qp_env(user_port, **extra)
        log = logdir / f"qp-{len(procs)}.log"
        proc = spawn(python_module("knpy.queue_proxy"), env=env, log_path=log, cwd=REPO)
        procs.append(proc)
        qp = QueueProxy(proc, int(env["QUEUE_SERVING_PORT"]), int(env["QUEUE_ADMIN_PORT"]),
                        int(env["QUEUE_METRICS_PORT"]), int(env["QUEUE_USER_METRICS_PORT"]),
                        user_port, log, env)
        if wait:
            wait_port(qp.port, proc=proc, timeout=20)
            wait_port(qp.user_metrics_port, proc=proc, timeout=20)
        return qp

    yield start
    for p in procs:
        stop(p, timeout=5)


@pytest.fixture
def qp(user_app: int, start_qp) -> QueueProxy:  # type: ignore[no-untyped-def]
    return start_qp(user_app)
