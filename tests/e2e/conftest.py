"""e2e tier: the local single-node cluster (tests/support/cluster.py, docs/cluster.md)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "cluster_teardown: takes the session's cluster down; runs after every "
        "other test of the session")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The teardown check must come last: no later test may need the cluster.
    last = [i for i in items if i.get_closest_marker("cluster_teardown")]
    items[:] = [i for i in items if not i.get_closest_marker("cluster_teardown")] + last
