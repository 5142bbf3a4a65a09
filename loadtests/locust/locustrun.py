"""Run Locust as a subprocess on one of this package's locustfiles, bounded in time, and
read back the raw samples its recorder wrote.

Headless: --run-time plus a hard timeout (stop by PID, then SIGKILL). With ui=True, Locust's
web UI on 127.0.0.1 instead, until Locust exits (Ctrl-C here) or ui_seconds pass.
Locust writes <name>_stats.csv, <name>_stats_history.csv, <name>_failures.csv,
<name>_exceptions.csv and <name>.html (with its charts over time) into the results dir.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.procs import REPO, spawn, stop

HERE = Path(__file__).resolve().parent
GRACE_S = 60.0  # start-up, the stop timeout and writing the reports, past --run-time


@dataclass(frozen=True)
class LocustRun:
    name: str                    # file names in the results dir
    locustfile: str              # lf_*.py in this package
    config: dict[str, Any]       # handed to the locustfile as $KNPY_LOADTEST
    run_time: float              # seconds
    users: int = 0               # 0: the locustfile's shape decides
    classes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Ui:
    port: int = 8089
    seconds: float = 3600.0


def run_locust(run: LocustRun, out: Path, ui: Ui | None = None) -> list[dict[str, Any]]:
    """The raw samples of the run (one dict per request; see recorder.py)."""
    raw = out / f"{run.name}.raw.jsonl"
    raw.unlink(missing_ok=True)
    argv = [sys.executable, "-m", "locust", "-f", str(HERE / run.locustfile),
            "--csv", str(out / run.name), "--html", str(out / f"{run.name}.html"),
            "--loglevel", "WARNING", "--stop-timeout", "5", "--exit-code-on-error", "0"]
    if run.users:
        argv += ["-u", str(run.users), "-r", str(max(run.users, 1))]
    if ui is None:
        argv += ["--headless", "--only-summary", "--run-time", f"{math.ceil(run.run_time)}s"]
        hard = run.run_time + GRACE_S
    else:
        argv += ["--web-host", "127.0.0.1", "--web-port", str(ui.port)]
        hard = ui.seconds
        print(f"Locust web UI: http://127.0.0.1:{ui.port}/ (Ctrl-C when done)", flush=True)
    config = {**run.config, "raw": str(raw)}
    if ui is not None:
        config.pop("max_requests", None)  # the user starts and stops the runs there
    path = os.pathsep.join([str(REPO), str(REPO / "components"), os.environ.get("PYTHONPATH", "")])
    log = out / f"{run.name}.locust.log"
    proc = spawn([*argv, *run.classes], log_path=log, cwd=REPO, env={
        "KNPY_LOADTEST": json.dumps(config), "PYTHONPATH": path})
    try:
        proc.wait(timeout=hard)
    except subprocess.TimeoutExpired:
        print(f"{run.name}: Locust still running after {hard:.0f}s; stopped", flush=True)
    except KeyboardInterrupt:
        if ui is None:
            raise
        print(f"{run.name}: stopping the web UI", flush=True)  # its samples still count
    finally:
        code = stop(proc)
    if ui is not None and not raw.exists():
        return []  # the UI was never started
    if (code != 0 and ui is None) or not raw.exists():
        tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
        raise RuntimeError(f"Locust run {run.name} exited {code}; {log}:\n{tail}")
    return [json.loads(line) for line in raw.read_text().splitlines() if line]
