"""Fixtures for activator integration tests: real processes on 127.0.0.1, stopped by PID.

`stack.user_app(port)`, `stack.queue_proxy(user_port, cc)`, `stack.activator(...)` and
`stack.autoscaler(doc)` each start one process (`python -m ...`) and return its port(s).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from tests.support.poll import eventually
from tests.support.procs import free_port, python_module, spawn, stop, wait_port

ROUTE = {"Knative-Serving-Namespace": "default", "Knative-Serving-Revision": "hello"}


class Stack:
    def __init__(self, tmp: Path, logdir: Path) -> None:
        self.tmp = tmp
        self.logdir = logdir
        self.procs: list[Any] = []
        self.metrics_port = 0  # of the latest activator started

    def _start(self, name: str, argv: list[str], port: int | None,
               env: dict[str, str] | None = None, wait: bool = True) -> Any:
        proc = spawn(argv, env=env, log_path=self.logdir / f"{name}.log")
        self.procs.append(proc)
        if port is not None and wait:
            wait_port(port, proc=proc, timeout=15)
        return proc

    def user_app(self, port: int | None = None) -> int:
        port = port or free_port()
        self._start(f"app-{port}", [sys.executable, "-m", "tests.apps.userapp", "--host",
                                    "127.0.0.1", "--port", str(port)], port)
        return port

    def queue_proxy(self, user_port: int, cc: int = 0,
                    env: dict[str, str] | None = None) -> int:
        """A queue-proxy on a free port in front of user_port (nothing need listen there)."""
        return self.queue_proxy_ports(user_port, cc, env)["QUEUE_SERVING_PORT"]

    def queue_proxy_ports(self, user_port: int, cc: int = 0,
                          env: dict[str, str] | None = None) -> dict[str, Any]:
        """queue_proxy(), returning all four ports by env name and the process ("proc")."""
        ports = {k: free_port() for k in ("QUEUE_SERVING_PORT", "QUEUE_ADMIN_PORT",
                                          "QUEUE_METRICS_PORT", "QUEUE_USER_METRICS_PORT")}
        env = {**{k: str(v) for k, v in ports.items()}, "USER_PORT": str(user_port),
               "CONTAINER_CONCURRENCY": str(cc), "QUEUE_LISTEN_HOST": "127.0.0.1",
               "SERVING_NAMESPACE": "default", "SERVING_REVISION": "hello",
               "SERVING_POD": f"hello-{user_port}", "QUEUE_DRAIN_QUIET_PERIOD_SECONDS": "0",
               **(env or {})}
        port = ports["QUEUE_SERVING_PORT"]
        proc = self._start(f"qp-{port}", python_module("knpy.queue_proxy"), port, env)
        return {**ports, "proc": proc}

    def activator(self, *args: str, env: dict[str, str] | None = None) -> tuple[int, Any]:
        port = free_port()
        self.metrics_port = free_port()
        proc = self._start(f"activator-{port}", python_module(
            "knpy.activator", "--host", "127.0.0.1", "--port", str(port),
            "--metrics-port", str(self.metrics_port),
            "--pod-name", f"activator-{port}", "--log-level", "debug", *args), port, env)
        if proc is not None and "--metrics-port" not in args:
            # The metrics port listens just after the main one: tests read it at once.
            wait_port(self.metrics_port, proc=proc, timeout=15)
        return port, proc

    def autoscaler(self, doc: dict[str, Any], *args: str, port: int = 0,
                   name: str = "") -> int:
        port = port or free_port()
        cfg = self.tmp / f"autoscaler-{port}.yaml"
        cfg.write_text(yaml.safe_dump(doc))
        self._start(name or f"autoscaler-{port}", python_module(
            "knpy.autoscaler", "--host", "127.0.0.1", "--port", str(port), "--config",
            str(cfg), *args), port)
        return port

    def log(self, name_prefix: str) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:]
                         for p in sorted(self.logdir.glob(f"{name_prefix}*.log")))

    def close(self) -> None:
        for p in reversed(self.procs):
            stop(p, timeout=10)


@pytest.fixture
def stack(tmp_path: Path, logdir: Path) -> Iterator[Stack]:
    s = Stack(tmp_path, logdir)
    try:
        yield s
    finally:
        s.close()


def write_config(path: Path, revisions: list[dict[str, Any]]) -> None:
    """Replace the activator's standalone file atomically (the activator polls it)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump({"revisions": revisions}))
    tmp.replace(path)


async def until_status(session: aiohttp.ClientSession, url: str, want: int, within: float,
                       headers: dict[str, str] | None = None) -> tuple[int, str]:
    """GET url until it answers `want` (e.g. while a pod is still being probed)."""
    async def attempt() -> tuple[int, str] | None:
        got = await get(session, url, headers, limit=within)
        return got if got[0] == want else None
    return await eventually(attempt, within, f"{want} from {url}", every=0.1)


async def get(session: aiohttp.ClientSession, url: str, headers: dict[str, str] | None = None,
              limit: float = 30) -> tuple[int, str]:
    async with session.get(url, headers=headers if headers is not None else ROUTE,
                           timeout=aiohttp.ClientTimeout(total=limit)) as resp:
        return resp.status, await resp.text()
