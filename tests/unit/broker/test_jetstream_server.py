"""The store names a nats-server too old to redeliver on time (nats-server #5305)."""

from __future__ import annotations

import pytest

from knpy.broker.jetstream import old_server_warning


@pytest.mark.parametrize("version", ["2.9.10", "2.10.13", "1.4.1"])
def test_a_server_without_the_redelivery_fix_is_named(version: str) -> None:
    warning = old_server_warning(version)
    assert warning is not None
    assert f"nats-server {version}" in warning and "#5305" in warning and "2.10.14" in warning


@pytest.mark.parametrize("version", ["2.10.14", "2.11.0", "2.15.1", "3.0.0-beta.1", "", "x"])
def test_a_fixed_or_unknown_server_is_not(version: str) -> None:
    assert old_server_warning(version) is None
