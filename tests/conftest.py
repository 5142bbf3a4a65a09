"""Fixtures every tier shares. Tier-specific ones live in tests/<tier>/conftest.py."""

from __future__ import annotations

from pathlib import Path

import pytest

# The real-Kubernetes fixtures (kube_apiserver, kube_cluster) for every tier: docs/cluster.md.
from tests.support.cluster import kube_apiserver, kube_cluster  # noqa: F401


@pytest.fixture
def logdir(tmp_path: Path) -> Path:
    """A directory for the logs of processes a test starts (kept by pytest on failure)."""
    d = tmp_path / "logs"
    d.mkdir()
    return d
