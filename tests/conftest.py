"""Fixtures every tier shares. Tier-specific ones live in tests/<tier>/conftest.py."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def logdir(tmp_path: Path) -> Path:
    """A directory for the logs of processes a test starts (kept by pytest on failure)."""
    d = tmp_path / "logs"
    d.mkdir()
    return d
