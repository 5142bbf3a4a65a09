"""The adapter processes refuse bad configuration with a message naming what is wrong."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.procs import python_module

pytestmark = pytest.mark.timeout(60)


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    import os
    full = {k: v for k, v in os.environ.items() if k not in ("K_SINK", "K_SOURCE_CONFIG")}
    full.update(env or {})
    return subprocess.run(python_module("knpy.sources", *args), env=full, text=True,
                          capture_output=True, timeout=30, check=False)


def test_apiserver_adapter_needs_sink_and_a_valid_config(tmp_path: Path) -> None:
    p = run("apiserver")
    assert p.returncode != 0 and "K_SINK / --sink: missing" in p.stderr
    p = run("apiserver", env={"K_SINK": "http://127.0.0.1:9/", "K_SOURCE_CONFIG": "{"})
    assert p.returncode != 0 and "K_SOURCE_CONFIG / --config" in p.stderr
    p = run("apiserver", env={"K_SINK": "http://127.0.0.1:9/",
                              "K_SOURCE_CONFIG": json.dumps({"resources": [{"kind": "Pod"}]})})
    assert p.returncode != 0 and "resources[0]: want apiVersion and kind" in p.stderr
    p = run("apiserver", env={"K_SINK": "http://127.0.0.1:9/", "K_SOURCE_CONFIG": json.dumps(
        {"resources": [{"apiVersion": "v1", "kind": "Pod"}], "mode": "Everything"})})
    assert p.returncode != 0 and "K_SOURCE_CONFIG.mode: invalid value: Everything" in p.stderr


def test_ping_adapter_needs_an_existing_file(tmp_path: Path) -> None:
    p = run("ping", "--file", str(tmp_path / "nope.yaml"))
    assert p.returncode != 0 and "nope.yaml: no such file" in p.stderr
