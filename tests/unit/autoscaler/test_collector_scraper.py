"""Windowed collection of stats, the scrape sample size and the scaled average."""

from __future__ import annotations

import pytest

from knpy.autoscaler.collector import Collection
from knpy.autoscaler.scraper import average_scaled, sample_size
from knpy.runtime.contract.stat import Stat
from tests.unit.autoscaler.helpers import settings


@pytest.mark.parametrize(("n", "want"), [(0, 0), (1, 1), (2, 2), (3, 3), (5, 4), (10, 7),
                                         (100, 14), (1000, 16)])
def test_sample_size(n: int, want: int) -> None:
    assert sample_size(n) == want


def test_average_is_scaled_back_by_population() -> None:
    stats = [Stat("a", 2.0, 1.0, 10.0, 4.0, 5.0, 7), Stat("b", 4.0, 0.0, 20.0, 0.0, 9.0, 9)]
    got = average_scaled(stats, population=10)
    assert (got.average_concurrent_requests, got.average_proxied_concurrent_requests) == (30, 5)
    assert (got.request_count, got.proxied_request_count) == (150, 20)
    assert (got.process_uptime, got.timestamp) == (9.0, 9)


def test_proxied_requests_are_not_counted_twice() -> None:
    c = Collection(settings(stable_window=60.0, panic_window=6.0))
    assert c.stable_and_panic(100.0) is None  # no data yet
    c.record(100.0, Stat(average_concurrent_requests=5.0, average_proxied_concurrent_requests=2.0))
    c.record(100.0, Stat(average_concurrent_requests=1.0))   # e.g. the activator's report
    assert c.stable_and_panic(100.0) == (4.0, 4.0)


def test_stable_and_panic_windows_average_over_seconds_covered() -> None:
    c = Collection(settings(stable_window=10.0, panic_window=2.0))
    for t in range(10):
        c.record(1000.0 + t, Stat(average_concurrent_requests=float(t)))
    stable, panic = c.stable_and_panic(1009.0)  # type: ignore[misc]
    assert stable == pytest.approx(4.5)          # 0..9 over 10 s
    assert panic == pytest.approx(8.5)           # 8, 9 over 2 s
    # After a full stable window of silence there is no data at all.
    assert c.stable_and_panic(1020.0) is None


def test_rps_metric_uses_request_counts() -> None:
    c = Collection(settings(metric="rps", stable_window=10.0, panic_window=2.0))
    c.record(50.0, Stat(request_count=30.0, proxied_request_count=10.0,
                        average_concurrent_requests=99.0))
    assert c.stable_and_panic(50.0) == (20.0, 20.0)


def test_update_resizes_windows_in_place() -> None:
    c = Collection(settings(stable_window=10.0, panic_window=2.0))
    c.record(10.0, Stat(average_concurrent_requests=3.0))
    c.update(settings(stable_window=20.0, panic_window=4.0), 10.0)
    # The data is kept; a resized window counts the old window's buckets as covered.
    assert c.stable_and_panic(10.0) == (pytest.approx(0.3), pytest.approx(1.5))
    c.update(settings(stable_window=20.0, panic_window=4.0,
                      aggregation="weightedexponential"), 10.0)
    assert c.stable_and_panic(10.0) is None  # new algorithm: fresh windows
