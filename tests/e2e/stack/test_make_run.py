"""`make run`, the README's run command, on the package's cluster and install (issue 12):
it ends by printing how to reach the sample, and the printed curl returns `Hello World!`;
then `make stop` removes the samples and nothing else (this run started neither the
cluster nor the release: the package did).

`make run` here takes its full path (prerequisites, cluster up, `make deploy`); each is a
no-op on what the package already brought up, which is the "running it again is fast and
idempotent" case. Its state file (~/.cache/knpy/run/state.json) is set aside for the test
and put back, so a user's own `make run` is neither stopped nor merged into."""

from __future__ import annotations

import re
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from hack.run import KSVC, SAMPLES_NS, STATE_FILE
from tests.e2e.stack.conftest import Eventing
from tests.support.procs import REPO, spawn, stop

# On the package's install of the same tree nothing is built; a tree changed since that
# install (a local run with KNPY_REUSE_CLUSTER=1) rebuilds its images first.
RUN_TIMEOUT = 1200
pytestmark = pytest.mark.timeout(2 * RUN_TIMEOUT + 120)


def make(target: str, log: Path) -> tuple[int, str]:
    """`make <target>` with its whole process group stopped by PID, however it ends."""
    proc = spawn(["make", target], log_path=log, cwd=REPO)
    try:
        code = proc.wait(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        code = -1
    finally:
        stop(proc)
    return code, log.read_text(errors="replace")


@pytest.fixture
def own_state() -> Iterator[Path]:
    aside = STATE_FILE.with_name("state.json.e2e-aside")
    if STATE_FILE.exists():
        STATE_FILE.replace(aside)
    try:
        yield STATE_FILE
    finally:
        STATE_FILE.unlink(missing_ok=True)
        if aside.exists():
            aside.replace(STATE_FILE)


def test_make_run_prints_a_curl_that_answers_and_make_stop_removes_the_samples(
        knpy_stack: Eventing, own_state: Path, tmp_path: Path) -> None:
    c = knpy_stack.cluster
    code, out = make("run", tmp_path / "run.log")
    assert code == 0, out[-5000:]
    assert "everything Ready" in out, out[-5000:]
    curl = re.search(r"^curl -H 'Host: [^']+' http://127\.0\.0\.1:\d+/$", out, re.MULTILINE)
    assert curl, out
    served = subprocess.run([*shlex.split(curl.group(0)), "-sS", "--max-time", "10"],
                            capture_output=True, text=True, timeout=20, check=False)
    assert (served.returncode, served.stdout) == (0, "Hello World!\n"), served.stderr

    code, out = make("stop", tmp_path / "stop.log")
    assert code == 0, out[-5000:]
    assert not own_state.exists()
    assert c.kubectl("get", "ksvc", KSVC, "-n", SAMPLES_NS, check=False).returncode != 0
    # the package's stack is untouched: still installed and serving
    assert "knpy" in c.helm("list", "-n", "knpy-system", "-q").stdout.split()
    assert c.kubectl("get", "nodes").returncode == 0
