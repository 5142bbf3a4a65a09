"""Fixtures for autoscaler integration tests: real processes on 127.0.0.1."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from tests.support.poll import eventually
from tests.support.procs import free_port, python_module, running

STATPOD = [sys.executable, "-m", "tests.integration.autoscaler.statpod"]

# The standalone stack's tests (autoscaler + activator + process-target pods)
STACK = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("knpy.queue_proxy") is None
                       or importlib.util.find_spec("knpy.activator") is None,
                       reason="needs knpy.queue_proxy and knpy.activator"),
]
KEY = "default/hello"
ROUTE = {"Knative-Serving-Namespace": "default", "Knative-Serving-Revision": "hello"}


class AutoscalerProc:
    def __init__(self, port: int, proc: Any, log: Path) -> None:
        self.port = port
        self.proc = proc
        self.log = log
        self.base = f"http://127.0.0.1:{port}"

    async def status(self, session: aiohttp.ClientSession, key: str) -> dict[str, Any]:
        async with session.get(f"{self.base}/api/v1/revisions/{key}") as resp:
            assert resp.status == 200, await resp.text()
            return await resp.json()

    async def wait_for(self, session: aiohttp.ClientSession, key: str,
                       pred: Callable[[dict[str, Any]], bool], within: float,
                       what: str) -> dict[str, Any]:
        last: dict[str, Any] = {}

        async def check() -> dict[str, Any] | None:
            last.update(await self.status(session, key))
            return dict(last) if pred(last) else None
        return await eventually(check, within, what, every=0.1, detail=lambda: (
            f"last status {json.dumps(last)}\nlog tail: {self.log.read_text()[-3000:]}"))


@pytest.fixture
def start_autoscaler(tmp_path: Path, logdir: Path) -> Iterator[Callable[..., AutoscalerProc]]:
    """Start `python -m knpy.autoscaler` with a standalone YAML file; stopped by PID."""
    stack: list[Any] = []

    def start(doc: dict[str, Any], *extra: str,
              env: dict[str, str] | None = None) -> AutoscalerProc:
        port = free_port()
        cfg = tmp_path / f"autoscaler-{port}.yaml"
        cfg.write_text(yaml.safe_dump(doc))
        log = logdir / f"autoscaler-{port}.log"
        cm = running(python_module("knpy.autoscaler", "--host", "127.0.0.1", "--port", str(port),
                                   "--config", str(cfg), *extra),
                     port=port, env=env, log_path=log, ready_timeout=15)
        proc = cm.__enter__()
        stack.append(cm)
        return AutoscalerProc(port, proc, log)

    yield start
    for cm in reversed(stack):
        cm.__exit__(None, None, None)


@pytest.fixture
def statpods(logdir: Path) -> Iterator[Callable[[float | None], tuple[int, int]]]:
    """Start stand-in pods; returns (serving port, metrics port)."""
    stack: list[Any] = []

    def start(concurrency: float | None = None) -> tuple[int, int]:
        serving, metrics = free_port(), free_port()
        env = {"QUEUE_SERVING_PORT": str(serving), "QUEUE_METRICS_PORT": str(metrics),
               "SERVING_POD": f"statpod-{serving}"}
        if concurrency is not None:
            env["STATPOD_CONCURRENCY"] = str(concurrency)
        cm = running(STATPOD, port=metrics, env=env, log_path=logdir / f"statpod-{serving}.log")
        cm.__enter__()
        stack.append(cm)
        return serving, metrics

    yield start
    for cm in reversed(stack):
        cm.__exit__(None, None, None)
