"""e2e tier: the local single-node cluster (tests/support/cluster.py, docs/cluster.md)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "cluster_teardown: takes the session's cluster down; runs after every "
        "other test of the session")
    config.addinivalue_line(
        "markers", "stack_teardown: ends its package's shared install; runs after every "
        "other test of its package")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # A stack teardown goes right after the last other test of its package, whatever its
    # module's name, so the package's install is shared until then and torn down once.
    order = [i for i in items if not i.get_closest_marker("stack_teardown")]
    for item in (i for i in items if i.get_closest_marker("stack_teardown")):
        same = [n for n, i in enumerate(order) if i.path.parent == item.path.parent]
        order.insert(same[-1] + 1 if same else len(order), item)
    # The teardown check must come last: no later test may need the cluster.
    last = [i for i in order if i.get_closest_marker("cluster_teardown")]
    items[:] = [i for i in order if not i.get_closest_marker("cluster_teardown")] + last
