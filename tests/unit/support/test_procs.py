"""The one nats-server command line every loopback stack starts (tests, run-local, bench)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.procs import nats_server, nats_server_argv


def test_argv_names_the_chosen_binary_the_store_and_loopback_only(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    binary = tmp_path / "nats-server"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    monkeypatch.setenv("KNPY_NATS_SERVER", str(binary))
    assert nats_server_argv(tmp_path / "js", 4222) == [
        str(binary), "-js", "-sd", str(tmp_path / "js"), "-a", "127.0.0.1", "-p", "4222"]


def test_a_missing_binary_says_how_to_get_one(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    monkeypatch.setenv("KNPY_NATS_SERVER", str(tmp_path / "absent"))
    assert nats_server() is None
    with pytest.raises(RuntimeError, match="make setup"):
        nats_server_argv(tmp_path, 4222)
