"""The KPA decision: the spec's worked examples and Knative's autoscaler_test.go cases."""

from __future__ import annotations

import math

import pytest

from knpy.autoscaler.decider import Decider, MaxWindow, ScaleResult
from tests.unit.autoscaler.helpers import STABLE_WINDOW, TARGET_UTILIZATION, settings

T0 = 1_000_000.0


def ebc(target: float, tbc: float, observed: float, pods: float) -> int:
    return math.floor(target / TARGET_UTILIZATION * pods - tbc - observed)


def want(result: ScaleResult, desired: int, expected_ebc: int) -> None:
    assert result.desired == desired
    # Knative compares EBC with +-1 tolerance for float rounding across platforms.
    assert abs(result.excess_burst_capacity - expected_ebc) <= 1, result


# ---------------------------------------------------------------- the spec's worked examples
def test_worked_example_stable() -> None:
    d = Decider(settings(10, 100), T0, ready_pods=1)
    r = d.scale(T0, ready_pods=1, stable=50, panic=50)
    assert (r.desired, r.excess_burst_capacity) == (5, -137)


def test_worked_example_panic() -> None:
    d = Decider(settings(10, 84), T0, ready_pods=1)
    r = d.scale(T0, ready_pods=1, stable=50, panic=100)
    assert (r.desired, r.excess_burst_capacity, r.panicking) == (10, -171, True)


def test_slow_scale_down_rate_and_unreachable() -> None:
    d = Decider(settings(10, 1982, max_scale_down_rate=1.1), T0)
    want(d.scale(T0, 100, 1, 1), 90, ebc(10, 1982, 1, 100))
    d = Decider(settings(10, 1982, max_scale_down_rate=1.1, reachable=False), T0)
    want(d.scale(T0, 100, 1, 1), 1, ebc(10, 1982, 1, 100))


def test_activation_scale() -> None:
    d = Decider(settings(10, 75, activation_scale=2), T0, ready_pods=1)
    want(d.scale(T0, 1, 0, 0), 0, ebc(10, 75, 0, 1))
    want(d.scale(T0, 1, 1, 0), 2, ebc(10, 75, 0, 1))


# ---------------------------------------------------------------- TestAutoscalerScale table
SCALE_TABLE = [
    # label, target, tbc, stable, panic, ready, overrides, panic_state, want, want_ebc
    ("no data at zero", 10, 100, 0, 0, 1, {}, None, 0, ebc(10, 100, 0, 1)),
    ("unlimited TBC", 181, -1, 21, 26, 1, {}, None, 1, -1),
    ("zero TBC", 10, 0, 50, 49, 1, {}, None, 5, 0),
    ("stable no change", 10, 100, 50, 50, 1, {}, None, 5, ebc(10, 100, 50, 1)),
    ("panic, stable larger than panic", 1, 100, 50, 30, 5, {}, (-5, 5), 50,
     ebc(1, 100, 30, 5)),
    ("panic, stable less than panic", 1, 100, 20, 30, 5, {}, (-5, 5), 30, ebc(1, 100, 30, 5)),
    ("stable, already scaled", 10, 100, 50, 50, 5, {}, None, 5, ebc(10, 100, 50, 5)),
    ("small scale-up rate still adds a pod", 1, 1982, 3, 3.1, 2, {"max_scale_up_rate": 1.1},
     None, 3, ebc(1, 1982, 3.1, 2)),
    ("small scale-down rate", 10, 1982, 1, 1, 100, {"max_scale_down_rate": 1.1}, None, 90,
     ebc(10, 1982, 1, 100)),
    ("not reachable scales down at once", 10, 1982, 1, 1, 100,
     {"max_scale_down_rate": 1.1, "reachable": False}, None, 1, ebc(10, 1982, 1, 100)),
    ("panic doubles pod count", 10, 84, 50, 100, 1, {}, None, 10, ebc(10, 84, 100, 1)),
]


@pytest.mark.parametrize(
    ("label", "target", "tbc", "stable", "panic", "ready", "overrides", "panic_state",
     "desired", "expected_ebc"), SCALE_TABLE, ids=[row[0] for row in SCALE_TABLE])
def test_scale_table(label: str, target: float, tbc: float, stable: float, panic: float,
                     ready: int, overrides: dict, panic_state: tuple[int, int] | None,
                     desired: int, expected_ebc: int) -> None:
    d = Decider(settings(target, tbc, **overrides), T0, ready_pods=1)
    if panic_state is not None:
        ago, max_pods = panic_state
        d._panic_time = T0 + ago
        d._max_panic_pods = max_pods
    want(d.scale(T0, ready, stable, panic), desired, expected_ebc)


# ---------------------------------------------------------------- sequences
def test_stable_mode_increase_and_rps_metric() -> None:
    d = Decider(settings(10, 101), T0, ready_pods=1)
    want(d.scale(T0, 1, 50, 10), 5, ebc(10, 101, 10, 1))
    want(d.scale(T0, 1, 100, 10), 10, ebc(10, 101, 10, 1))
    d = Decider(settings(10, 101, metric="rps"), T0, ready_pods=1)
    want(d.scale(T0, 1, 50, 50), 5, ebc(10, 101, 50, 1))
    want(d.scale(T0, 1, 100, 99), 10, ebc(10, 101, 99, 1))


def test_unpanic_after_slow_increase() -> None:
    d = Decider(settings(1, 98), T0, ready_pods=1)
    r = d.scale(T0, 10, 11, 25)
    want(r, 25, ebc(1, 98, 25, 10))
    assert d._panic_time == T0
    t = T0 + STABLE_WINDOW / 2
    want(d.scale(t, 40, 30, 41), 41, ebc(1, 98, 41, 40))
    assert d._panic_time == T0, "panic time must not move when under the threshold"
    t += STABLE_WINDOW / 2 + 2
    r = d.scale(t, 55, 50, 56)
    want(r, 50, ebc(1, 98, 56, 55))
    assert not r.panicking


def test_extend_panic_window() -> None:
    d = Decider(settings(1, 98), T0, ready_pods=1)
    want(d.scale(T0, 10, 11, 25), 25, ebc(1, 98, 25, 10))
    t = T0 + STABLE_WINDOW / 2
    want(d.scale(t, 40, 30, 80), 80, ebc(1, 98, 80, 40))
    assert d._panic_time == t


def test_stable_mode_decrease() -> None:
    d = Decider(settings(10, 98), T0, ready_pods=1)
    want(d.scale(T0, 8, 100, 100), 10, ebc(10, 98, 100, 8))
    want(d.scale(T0, 8, 50, 50), 5, ebc(10, 98, 50, 8))


def test_no_traffic_scales_to_zero() -> None:
    d = Decider(settings(10, 75), T0, ready_pods=1)
    want(d.scale(T0, 1, 1, 0), 1, ebc(10, 75, 0, 1))
    want(d.scale(T0, 1, 0, 0), 0, ebc(10, 75, 0, 1))


def test_panic_exponential_track_and_stabilize() -> None:
    d = Decider(settings(1, 101), T0, ready_pods=1)
    want(d.scale(T0, 1, 6, 6), 6, ebc(1, 101, 6, 1))
    t = T0
    want(d.scale(t, 6, 36, 36), 36, ebc(1, 101, 36, 6))
    assert d._panic_time == t
    t += 1
    want(d.scale(t, 36, 216, 216), 216, ebc(1, 101, 216, 36))
    want(d.scale(t, 216, 1296, 1296), 1296, ebc(1, 101, 1296, 216))
    t += 1
    want(d.scale(t, 1296, 1296, 1296), 1296, ebc(1, 101, 1296, 1296))


def test_panic_then_unpanic_scale_down() -> None:
    d = Decider(settings(10, 93), T0, ready_pods=1)
    want(d.scale(T0, 1, 100, 100), 10, ebc(10, 93, 100, 1))
    p = T0 + 1
    want(d.scale(p, 10, 100, 1000), 100, ebc(10, 93, 1000, 10))
    # Traffic drops; panic never scales down.
    want(d.scale(p + 30, 10, 1, 1), 100, ebc(10, 93, 1, 10))
    # A full stable window after the panic last started: back to stable mode.
    want(d.scale(p + 61, 10, 1, 1), 1, ebc(10, 93, 1, 10))


def test_rate_limits() -> None:
    d = Decider(settings(10, 61), T0, ready_pods=1)
    want(d.scale(T0, 1, 1000, 1001), 10, ebc(10, 61, 1001, 1))
    want(d.scale(T0, 10, 1000, 1001), 100, ebc(10, 61, 1001, 10))
    d = Decider(settings(10, 61), T0, ready_pods=1)
    want(d.scale(T0, 100, 1, 1), 10, ebc(10, 61, 1, 100))
    want(d.scale(T0, 10, 1, 1), 1, ebc(10, 61, 1, 10))


def test_zero_ready_pods_counts_as_one() -> None:
    d = Decider(settings(10, 81), T0, ready_pods=1)
    want(d.scale(T0, 0, 1000, 888), 10, ebc(10, 81, 888, 0))


def test_update_target() -> None:
    d = Decider(settings(10, 77), T0, ready_pods=1)
    want(d.scale(T0, 1, 100, 101), 10, ebc(10, 77, 101, 1))
    d.update(settings(1, 71))
    want(d.scale(T0, 10, 100, 101), 100, ebc(1, 71, 101, 10))


def test_starts_in_panic_only_above_one_pod() -> None:
    for ready in (0, 1):
        d = Decider(settings(100, 11), T0, ready_pods=ready)
        assert not d.panicking
        assert d._max_panic_pods == ready
    d = Decider(settings(100, 11), T0, ready_pods=2)
    assert d.panicking
    # Restarted at 2 pods with no load: holds 2 until a stable window has passed.
    assert d.scale(T0 + 2, 2, 0, 0).desired == 2
    assert d.scale(T0 + STABLE_WINDOW + 1, 2, 0, 0).desired == 0


# ---------------------------------------------------------------- scale-down delay
def test_scale_down_delay_simple_and_gradual() -> None:
    s = settings(10, 100, max_scale_down_rate=10, max_scale_up_rate=10, panic_threshold=100,
                 scale_down_delay=300.0)
    d = Decider(s, 0.0, ready_pods=0)
    assert d.scale(2, 0, 40, 40).desired == 4
    assert d.scale(300, 0, 0, 0).desired == 4     # 5 min at low load: still within the delay
    assert d.scale(302, 0, 0, 0).desired == 0     # the 4 has scrolled out
    # gradual
    assert d.scale(540, 0, 40, 40).desired == 4
    assert d.scale(600, 0, 30, 30).desired == 4   # 4 still dominates
    assert d.scale(660, 0, 0, 0).desired == 4
    assert d.scale(840, 0, 0, 0).desired == 3     # 4 scrolled out, 3 remains
    assert d.scale(900, 0, 0, 0).desired == 0


def test_scale_down_delay_is_skipped_once_unreachable() -> None:
    s = settings(10, 100, panic_threshold=100, scale_down_delay=300.0)
    d = Decider(s, 0.0)
    assert d.scale(2, 0, 40, 40).desired == 4
    assert d.scale(60, 0, 0, 0).desired == 4
    # Another revision took the traffic: scale down at once, despite the window.
    d.update(settings(10, 100, panic_threshold=100, scale_down_delay=300.0, reachable=False))
    assert d.scale(62, 0, 0, 0).desired == 0


def test_zero_delay_scales_down_within_one_tick() -> None:
    d = Decider(settings(10, 100, panic_threshold=100), 0.0)
    assert d.scale(0.0, 0, 40, 40).desired == 4
    assert d.scale(0.5, 0, 20, 20).desired == 2


def test_max_window_keeps_the_largest_in_a_bucket_and_expires() -> None:
    w = MaxWindow(10.0, 2.0)
    w.record(0.0, 3)
    w.record(1.0, 1)       # same bucket: the larger stays
    assert w.current() == 3
    w.record(4.0, 2)
    assert w.current() == 3
    w.record(10.0, 1)      # bucket 5: bucket 0 has left a 5-bucket window
    assert w.current() == 2
    w.record(14.0, 0)
    assert w.current() == 1
