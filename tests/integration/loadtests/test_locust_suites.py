"""`make loadtest` in a tiny size: every scenario runs against real knpy processes on
127.0.0.1 through Locust, prints its RESULT lines and SLO verdicts, and writes its reports;
a missed objective makes the exit code non-zero.

Not a timed test: the latency objectives get limits no run can miss here (--slo), only
errors and lost events keep theirs, so the verdicts asserted are the counting ones.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.procs import REPO, nats_server

# Found, never imported: importing locust patches this process with gevent.
pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("locust") is None,
                       reason="locust is in the dev extra: `make setup`"),
    pytest.mark.skipif(nats_server() is None, reason="nats-server not installed (make setup)"),
]

LENIENT = ["dataplane_queue_proxy_p95_overhead_ms=10000", "dataplane_activator_p95_overhead_ms"
           "=10000", "ramp_p95_overhead_ms=10000", "coldstart_p95_s=30"]


def loadtest(results: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "loadtests.locust", "--size", "tiny",
                           "--results", str(results), *args], capture_output=True, text=True,
                          cwd=REPO, timeout=240)


def lines(out: str, tag: str) -> dict[str, str]:
    return {m[1]: m[2] for m in re.finditer(rf"^{tag} (\S+) (.*)$", out, re.M)}


@pytest.mark.slow
def test_every_scenario_reports_results_and_verdicts(tmp_path: Path) -> None:
    p = loadtest(tmp_path, *(a for s in LENIENT for a in ("--slo", s)))
    assert p.returncode == 0, p.stdout + p.stderr
    results, slo = lines(p.stdout, "RESULT"), lines(p.stdout, "SLO")
    for path in ("direct", "queue_proxy", "activator"):
        assert float(results[f"dataplane_{path}_requests"].split()[0]) >= 5
        assert float(results[f"dataplane_{path}_p95_ms"].split()[0]) >= 100  # the app's sleep
    assert set(slo) == {
        "dataplane_queue_proxy_p95_overhead_ms", "dataplane_activator_p95_overhead_ms",
        "dataplane_errors", "ramp_p95_overhead_ms", "ramp_errors", "coldstart_n1_p95_s",
        "coldstart_n1_failed", "coldstart_n2_p95_s", "coldstart_n2_failed", "broker_lost",
        "broker_rejected"}
    assert all(v.endswith("PASS") for v in slo.values()), slo
    assert {"ramp_step1_direct_p95_ms", "ramp_step2_activator_p95_ms",
            "ramp_step2_activator_p95_overhead_ms", "ramp_step2_rps_per_path",
            "coldstart_n2_max_s"} <= set(results)
    assert results["broker_accepted"] == results["broker_delivered"] == "40 events"
    assert slo["coldstart_n2_failed"] == "0 <= 0 services PASS"
    # Locust's own reports (the HTML one has the charts over time) and the raw samples
    for name in ("dataplane", "ramp", "coldstart-n1", "coldstart-n2", "broker"):
        assert (tmp_path / f"{name}.html").stat().st_size > 0
        assert (tmp_path / f"{name}_stats.csv").exists()
        assert (tmp_path / f"{name}.raw.jsonl").read_text().count("\n") >= 1
    assert json.loads((tmp_path / "summary.json").read_text())["passed"] is True


@pytest.mark.slow
def test_a_missed_objective_fails_the_run(tmp_path: Path) -> None:
    p = loadtest(tmp_path, "--scenario", "broker", "--slo", "broker_lost=-1")
    assert p.returncode == 1, p.stdout + p.stderr
    slo = lines(p.stdout, "SLO")
    assert slo["broker_lost"] == "0 <= -1 events FAIL"
    assert slo["broker_rejected"].endswith("PASS")
    assert "loadtest: FAIL" in p.stdout
