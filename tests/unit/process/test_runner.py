"""knpy.runtime.process: the one way a component runs (signals, exit status, clean-up)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from knpy.runtime.process import cancel_and_wait, run_until_stopped
from tests.support.procs import REPO, spawn, stop

PROGRAM = '''
import asyncio, sys
from pathlib import Path
from knpy.runtime.process import run

async def amain(argv, stop):
    mode, marker = argv
    Path(marker).write_text("serving")
    if mode == "oserror":
        raise OSError("port 8012 taken")
    await stop.wait()
    Path(marker).write_text("stopping")
    if mode == "hang":
        await asyncio.sleep(60)
    Path(marker).write_text("cleaned")
    return 3

run(amain)
'''


def _wait_for(marker: Path, text: str, proc: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if marker.exists() and marker.read_text() == text:
            return
        assert proc.poll() is None, f"exited {proc.returncode} before {text!r}"
        time.sleep(0.02)
    raise TimeoutError(f"{marker} never said {text!r}")


def _start(tmp_path: Path, mode: str) -> tuple[subprocess.Popen, Path]:
    script, marker = tmp_path / "prog.py", tmp_path / "marker"
    script.write_text(PROGRAM)
    proc = spawn([sys.executable, str(script), mode, str(marker)], cwd=REPO,
                 log_path=tmp_path / "out.log")
    return proc, marker


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_sets_stop_and_the_status_is_amains(tmp_path: Path, sig: int) -> None:
    proc, marker = _start(tmp_path, "clean")
    try:
        _wait_for(marker, "serving", proc)
        proc.send_signal(sig)
        assert proc.wait(timeout=20) == 3
        assert marker.read_text() == "cleaned"
    finally:
        stop(proc)


def test_a_second_signal_cancels_a_hanging_clean_up(tmp_path: Path) -> None:
    proc, marker = _start(tmp_path, "hang")
    try:
        _wait_for(marker, "serving", proc)
        proc.send_signal(signal.SIGTERM)
        _wait_for(marker, "stopping", proc)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 1
        assert marker.read_text() == "stopping"
    finally:
        stop(proc)


def test_an_escaping_oserror_is_one_line_and_status_1(tmp_path: Path) -> None:
    proc, _ = _start(tmp_path, "oserror")
    try:
        assert proc.wait(timeout=20) == 1
        out = (tmp_path / "out.log").read_text()
        assert "cannot serve: port 8012 taken" in out and "Traceback" not in out
    finally:
        stop(proc)


async def test_run_until_stopped_returns_the_result_or_none_when_stopped() -> None:
    stop_event = asyncio.Event()

    async def quick() -> int:
        return 7

    assert await run_until_stopped(quick(), stop_event) == 7
    cleaned = asyncio.Event()

    async def forever() -> int:
        try:
            await asyncio.sleep(60)
        finally:
            cleaned.set()
        return 0

    asyncio.get_running_loop().call_soon(stop_event.set)
    assert await asyncio.wait_for(run_until_stopped(forever(), stop_event), 10) is None
    assert cleaned.is_set()


async def test_run_until_stopped_raises_what_the_coroutine_raises() -> None:
    async def broken() -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        await run_until_stopped(broken(), asyncio.Event())


async def test_cancel_and_wait_waits_for_every_task() -> None:
    done: list[str] = []

    async def worker(name: str) -> None:
        try:
            await asyncio.sleep(60)
        finally:
            await asyncio.sleep(0)  # clean-up that itself awaits
            done.append(name)

    async def failing() -> None:
        raise RuntimeError("already failed")

    tasks = [asyncio.create_task(worker(n)) for n in "abc"] + [asyncio.create_task(failing())]
    await asyncio.sleep(0)
    await asyncio.wait_for(cancel_and_wait(tasks), 10)
    assert sorted(done) == ["a", "b", "c"] and all(t.done() for t in tasks)
