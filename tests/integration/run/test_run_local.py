"""`make run-local`'s program (hack/run_local.py) as a subprocess, bounded by KNPY_RUN_SECONDS:
through the ingress gateway on its fixed port (KNPY_RUN_PORT, a free one here), the Knative
Service's Host answers from zero pods, the printed CloudEvent command reaches the
event-display sink, an unknown Host gets 404, a taken port is refused before anything
starts, and after the program exits no process it started (its own children and the pods
the autoscaler started) is still alive."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support.poll import eventually
from tests.support.procs import REPO, free_port, nats_server, spawn, stop

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(nats_server() is None, reason="nats-server missing: make setup")]

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


async def _json(s: aiohttp.ClientSession, url: str,
                headers: dict[str, str] | None = None) -> Any:
    async with s.get(url, headers=headers, timeout=aiohttp.ClientTimeout(total=5)) as r:
        assert r.status == 200, await r.text()
        return await r.json()


def _shell(command: str) -> str:
    """A printed curl command, run as the user would paste it."""
    return subprocess.run(shlex.split(command), capture_output=True, text=True, timeout=15,
                          check=True).stdout


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl missing")
async def test_make_run_serves_both_samples_and_cleans_up(tmp_path: Path) -> None:
    out = tmp_path / "run.out"
    run_dir = tmp_path / "run"
    port = free_port()
    gateway = f"http://127.0.0.1:{port}"
    proc = spawn([sys.executable, "-m", "hack.run_local"], log_path=out, cwd=REPO,
                 env={"KNPY_RUN_SECONDS": str(RUN_SECONDS), "KNPY_RUN_DIR": str(run_dir),
                      "KNPY_RUN_PORT": str(port)})
    pod_pids: set[int] = set()
    try:
        info = await eventually(lambda: _info(out) if proc.poll() is None else
                                pytest.fail(f"exited early:\n{out.read_text()[-3000:]}"),
                                60, "the KNPY_RUN line", every=0.2)
        assert info["run_dir"] == str(run_dir)
        assert set(info["pids"]) == {"nats-server", "event-display", "broker", "autoscaler",
                                     "activator", "ingress"}
        assert info["service"] == {"name": "helloworld-go", "namespace": "default",
                                   "revision": "helloworld-go-00001"}
        hello = f"curl -H 'Host: helloworld-go.default.example.com' {gateway}/"
        assert info["commands"]["hello"] == hello
        human = out.read_text().replace(" \\\n       -H", " -H")  # long ones are wrapped
        for cmd in info["commands"].values():  # the human text prints the same commands
            assert cmd in human, cmd
        async with aiohttp.ClientSession() as s:
            # Serving: zero pods, then the first Host-routed request through the gateway
            # and the activator is served.
            st = await _json(s, info["autoscaler"])
            assert st["readyPods"] == 0 and st["pids"] == [], st
            async with s.get(f"{gateway}/", timeout=aiohttp.ClientTimeout(total=30),
                             headers={"Host": "helloworld-go.default.example.com"}) as r:
                assert (r.status, await r.text()) == (200, "Hello World!\n")
            st = await _json(s, info["autoscaler"])
            assert st["readyPods"] >= 1 and st["pids"], st
            pod_pids.update(st["pids"])

            # A Host no rule has: a clear 404 from the gateway.
            async with s.get(f"{gateway}/", headers={"Host": "nope.default.example.com"},
                             timeout=aiohttp.ClientTimeout(total=5)) as r:
                assert (r.status, await r.text()) == (
                    404, "no route for host nope.default.example.com\n")

        # Eventing, as printed: gateway -> broker ingress -> JetStream -> trigger -> display.
        assert _shell(info["commands"]["event"]).startswith("HTTP/1.1 202")

        def delivered() -> list[dict]:
            events = json.loads(_shell(info["commands"]["events"]))
            return [e for e in events if e["id"] == "1" and e["source"] == "/curl"]

        [event] = await eventually(delivered, 15, "the event at the sink", every=0.2)
        assert event["data"] == {"msg": "hi"} and event["type"] == "com.example.hello"
        assert "com.example.hello" in (run_dir / "logs/event-display.log").read_text()

        # KNPY_RUN_SECONDS ends it by itself, with status 0.
        assert proc.wait(timeout=RUN_SECONDS + 60) == 0, out.read_text()[-3000:]
    finally:
        stop(proc, timeout=60)
    text = out.read_text()
    assert "stopped 6 process(es)" in text, text[-3000:]
    left = [p for p in [*info["pids"].values(), *pod_pids] if _alive(p)]
    assert left == [], f"still running: {left}"


async def test_sigterm_stops_everything_including_pods(tmp_path: Path) -> None:
    """What Ctrl-C does: every process by PID, the pods the autoscaler started too."""
    out = tmp_path / "run.out"
    port = free_port()
    proc = spawn([sys.executable, "-m", "hack.run_local"], log_path=out, cwd=REPO,
                 env={"KNPY_RUN_SECONDS": "120", "KNPY_RUN_DIR": str(tmp_path / "run"),
                      "KNPY_RUN_PORT": str(port), "KNPY_RUN_NAME": "greeter"})
    try:
        info = await eventually(lambda: _info(out) if proc.poll() is None else
                                pytest.fail(f"exited early:\n{out.read_text()[-3000:]}"),
                                60, "the KNPY_RUN line", every=0.2)
        # KNPY_RUN_NAME names the Service, its host and its first revision
        assert info["hello"] == {"url": f"http://127.0.0.1:{port}/",
                                 "headers": {"Host": "greeter.default.example.com"}}
        assert info["autoscaler"].endswith("/default/greeter-00001")
        async with aiohttp.ClientSession() as s:
            async with s.get(info["hello"]["url"], headers=info["hello"]["headers"],
                             timeout=aiohttp.ClientTimeout(total=30)) as r:
                assert (r.status, await r.text()) == (200, "Hello World!\n")
            pod_pids = (await _json(s, info["autoscaler"]))["pids"]
        assert pod_pids
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, out.read_text()[-3000:]
    finally:
        stop(proc, timeout=60)
    assert "SIGTERM: stopping" in out.read_text()
    left = [p for p in [*info["pids"].values(), *pod_pids] if _alive(p)]
    assert left == [], f"still running: {left}"


@pytest.mark.parametrize("var,value", [("KNPY_RUN_SECONDS", "soon"),
                                       ("KNPY_RUN_NAME", "Hello_World"),
                                       ("KNPY_RUN_PORT", "80a")])
def test_a_bad_setting_names_the_variable(tmp_path: Path, var: str, value: str) -> None:
    out = tmp_path / "run.out"
    proc = spawn([sys.executable, "-m", "hack.run_local"], log_path=out, cwd=REPO,
                 env={var: value, "KNPY_RUN_DIR": str(tmp_path / "run")})
    try:
        assert proc.wait(timeout=30) == 2
    finally:
        stop(proc)
    text = out.read_text()
    assert f"{var}: " in text and repr(value) in text, text


def test_a_taken_port_is_refused_naming_it(tmp_path: Path) -> None:
    """Before anything starts: the gateway's fixed port is what users curl."""
    out = tmp_path / "run.out"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = spawn([sys.executable, "-m", "hack.run_local"], log_path=out, cwd=REPO,
                     env={"KNPY_RUN_PORT": str(port), "KNPY_RUN_DIR": str(tmp_path / "run")})
        try:
            assert proc.wait(timeout=30) == 1, out.read_text()[-3000:]
        finally:
            stop(proc, timeout=60)
    text = out.read_text()
    assert f"127.0.0.1:{port} (the gateway's port) is taken" in text, text
    assert "KNPY_RUN_PORT" in text and "stopped 0 process(es)" in text, text


def test_missing_nats_server_says_how_to_get_it(tmp_path: Path) -> None:
    out = tmp_path / "run.out"
    proc = spawn([sys.executable, "-m", "hack.run_local"], log_path=out, cwd=REPO,
                 env={"PATH": str(tmp_path), "KNPY_RUN_DIR": str(tmp_path / "run"),
                      "KNPY_NATS_SERVER": str(tmp_path / "no-such-nats-server")})
    try:
        assert proc.wait(timeout=30) == 1
    finally:
        stop(proc)
    text = out.read_text()
    assert "nats-server not found: run `make setup`" in text
    assert "stopped 0 process(es)" in text
