"""The CESQL conformance runner against the shared TCK files, and against cases that must fail."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from tests.support import cesql_tck

ROOT = Path(__file__).resolve().parents[3]
TCK_DIR = ROOT.parent / "shared" / "data" / "cesql_tck"
SHARED = TCK_DIR if TCK_DIR.is_dir() else Path("/work/shared/data/cesql_tck")


def test_shared_tck_passes_in_process():
    out = io.StringIO()
    passed, failed = cesql_tck.run(SHARED, out)
    assert failed == 0, out.getvalue()
    assert passed >= 100


def test_runner_cli_prints_summary_and_exits_zero():
    proc = subprocess.run(
        [sys.executable, "-m", "tests.support.cesql_tck", str(SHARED)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    assert last.endswith(" passed, 0 failed")


def test_runner_reports_failures(tmp_path: Path):
    (tmp_path / "mine.yaml").write_text(
        """name: Deliberately wrong
tests:
  - name: right
    expression: 1 + 1
    result: 2
  - name: wrong value
    expression: 1 + 1
    result: 3
  - name: wrong type (1 is not true)
    expression: 1
    result: true
  - name: missing error
    expression: 1 / 1
    result: 1
    error: math
  - name: unexpected error
    expression: 1 / 0
    result: 0
  - name: parse error expected
    expression: "1 + 1"
    error: parse
  - name: timestamps stay strings, TRUE stays an expression
    expression: time = '2018-04-26T14:48:09+02:00' AND TRUE
    eventOverrides:
      time: 2018-04-26T14:48:09+02:00
    result: true
""",
        encoding="utf-8",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "tests.support.cesql_tck", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    lines = proc.stdout.strip().splitlines()
    assert lines[-1] == "2 passed, 5 failed"
    assert sum(line.startswith("FAIL ") for line in lines) == 5


def test_runner_rejects_empty_directory(tmp_path: Path):
    assert cesql_tck.main([str(tmp_path)]) == 2
