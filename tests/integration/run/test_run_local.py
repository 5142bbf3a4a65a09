"""`make run-local`'s program (hack/run_local.py) as a subprocess, bounded by KNPY_RUN_SECONDS:
the hello sample answers from zero pods through the activator, a CloudEvent POSTed to the
broker reaches the event-display sink, and after the program exits no process it started
(its own children and the pods the autoscaler started) is still alive."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support.poll import eventually
from tests.support.procs import REPO, spawn, stop

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("nats-server") is None,
                                 reason="nats-server missing: make sysdeps")]

RUN_SECONDS = 25  # from "ready"; the checks below take a few seconds


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _info(out: Path) -> dict[str, Any] | None:
    for line in out.read_text(errors="replace").splitlines():
        if line.startswith("KNPY_RUN "):
            return json.loads(line[len("KNPY_RUN "):])
    return None


async def _json(s: aiohttp.ClientSession, url: str) -> Any:
    async with s.get(url, timeout=aiohttp.ClientTimeout(total=5)) as r:
        assert r.status == 200, await r.text()
        return await r.json()


async def test_make_run_serves_both_samples_and_cleans_up(tmp_path: Path) -> None:
    out = tmp_path / "run.out"
    run_dir = tmp_path / "run"
    proc = spawn([sys.executable, "-m", "hack.run_local"], log_path=out, cwd=REPO,
                 env={"KNPY_RUN_SECONDS": str(RUN_SECONDS), "KNPY_RUN_DIR": str(run_dir)})
    pod_pids: set[int] = set()
    try:
        info = await eventually(lambda: _info(out) if proc.poll() is None else
                                pytest.fail(f"exited early:\n{out.read_text()[-3000:]}"),
                                60, "the KNPY_RUN line", every=0.2)
        assert info["run_dir"] == str(run_dir)
        assert set(info["pids"]) == {"nats-server", "event-display", "broker", "autoscaler",
                                     "activator"}
        for url in (info["hello"]["url"], info["broker"], info["sink"], info["autoscaler"]):
            assert url.startswith("http://127.0.0.1:"), url
        async with aiohttp.ClientSession() as s:
            # Serving: zero pods, then the first request through the activator is served.
            st = await _json(s, info["autoscaler"])
            assert st["readyPods"] == 0 and st["pids"] == [], st
            async with s.get(info["hello"]["url"], headers=info["hello"]["headers"],
                             timeout=aiohttp.ClientTimeout(total=30)) as r:
                assert (r.status, await r.text()) == (200, "Hello knpy!\n")
            st = await _json(s, info["autoscaler"])
            assert st["readyPods"] >= 1 and st["pids"], st
            pod_pids.update(st["pids"])

            # Eventing: broker ingress -> JetStream -> trigger -> event-display.
            event_id = str(uuid.uuid4())
            async with s.post(info["broker"], data=b'{"msg": "hi"}', headers={
                    "ce-specversion": "1.0", "ce-id": event_id, "ce-source": "/test",
                    "ce-type": "com.example.hello", "content-type": "application/json"},
                    timeout=aiohttp.ClientTimeout(total=10)) as r:
                assert r.status == 202, await r.text()

            async def delivered() -> list[dict]:
                return [e for e in await _json(s, info["sink"]) if e["id"] == event_id]

            [event] = await eventually(delivered, 15, "the event at the sink", every=0.2)
            assert event["data"] == {"msg": "hi"} and event["type"] == "com.example.hello"
        assert event_id in (run_dir / "logs/event-display.log").read_text()

        # KNPY_RUN_SECONDS ends it by itself, with status 0.
        assert proc.wait(timeout=RUN_SECONDS + 60) == 0, out.read_text()[-3000:]
    finally:
        stop(proc, timeout=60)
    text = out.read_text()
    assert "stopped 5 process(es)" in text, text[-3000:]
    left = [p for p in [*info["pids"].values(), *pod_pids] if _alive(p)]
    assert left == [], f"still running: {left}"


async def test_sigterm_stops_everything_including_pods(tmp_path: Path) -> None:
    """What Ctrl-C does: every process by PID, the pods the autoscaler started too."""
    out = tmp_path / "run.out"
    proc = spawn([sys.executable, "-m", "hack.run_local"], log_path=out, cwd=REPO,
                 env={"KNPY_RUN_SECONDS": "120", "KNPY_RUN_DIR": str(tmp_path / "run")})
    try:
        info = await eventually(lambda: _info(out) if proc.poll() is None else
                                pytest.fail(f"exited early:\n{out.read_text()[-3000:]}"),
                                60, "the KNPY_RUN line", every=0.2)
        async with aiohttp.ClientSession() as s:
            async with s.get(info["hello"]["url"], headers=info["hello"]["headers"],
                             timeout=aiohttp.ClientTimeout(total=30)) as r:
                assert r.status == 200
            pod_pids = (await _json(s, info["autoscaler"]))["pids"]
        assert pod_pids
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, out.read_text()[-3000:]
    finally:
        stop(proc, timeout=60)
    assert "SIGTERM: stopping" in out.read_text()
    left = [p for p in [*info["pids"].values(), *pod_pids] if _alive(p)]
    assert left == [], f"still running: {left}"


def test_bad_run_seconds_names_the_variable(tmp_path: Path) -> None:
    out = tmp_path / "run.out"
    proc = spawn([sys.executable, "-m", "hack.run_local"], log_path=out, cwd=REPO,
                 env={"KNPY_RUN_SECONDS": "soon", "KNPY_RUN_DIR": str(tmp_path / "run")})
    try:
        assert proc.wait(timeout=30) == 2
    finally:
        stop(proc)
    assert "KNPY_RUN_SECONDS" in out.read_text()


def test_missing_nats_server_says_how_to_get_it(tmp_path: Path) -> None:
    out = tmp_path / "run.out"
    proc = spawn([sys.executable, "-m", "hack.run_local"], log_path=out, cwd=REPO,
                 env={"PATH": str(tmp_path), "KNPY_RUN_DIR": str(tmp_path / "run")})
    try:
        assert proc.wait(timeout=30) == 1
    finally:
        stop(proc)
    text = out.read_text()
    assert "nats-server not found: run `make sysdeps`" in text
    assert "stopped 0 process(es)" in text
