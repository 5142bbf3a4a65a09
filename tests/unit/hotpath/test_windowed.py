"""Windowed aggregation: golden vectors (the spec's worked example and Knative's own
aggregation tests, pkg/autoscaler/aggregation/bucketing_test.go) and edge cases, run
against both builds."""

from __future__ import annotations

import importlib
import math
import os
from types import ModuleType

import pytest

from knpy.runtime.hotpath import windowed, windowed_py

BUILDS = ["py", "c"]


@pytest.fixture(params=BUILDS)
def impl(request: pytest.FixtureRequest) -> ModuleType:
    if request.param == "c" and os.environ.get("KNPY_NO_EXTENSIONS"):
        pytest.skip("compiled build disabled by KNPY_NO_EXTENSIONS")
    return importlib.import_module(f"knpy.runtime.hotpath.windowed_{request.param}")


T0 = 1_000_000.0  # an arbitrary second boundary on the caller's monotonic clock


def total(b: object, now: float) -> float:
    """Sum of the buckets still in the window (Knative's tests use forEachBucket)."""
    return sum(v for _, v in b.snapshot(now))  # type: ignore[attr-defined]


# ------------------------------------------------------------------ the spec's example


def test_spec_worked_example(impl: ModuleType) -> None:
    b = impl.TimedBuckets(5.0)
    b.record(T0, 1)
    assert b.window_average(T0) == 1.0  # divides by 1 covered second, not by 5
    for i in range(1, 5):
        b.record(T0 + i, i + 1)
    assert b.window_average(T0 + 4) == 3.0
    assert b.window_average(T0 + 6) == 4.0  # (15 - 1 - 2) / 3: two seconds of no data
    assert b.window_average(T0 + 10) == 0.0  # a whole window of silence
    b.record(T0 + 6, 91)
    assert b.window_average(T0 + 6) == 20.6  # (3 + 4 + 5 + 0 + 91) / 5


@pytest.mark.parametrize(
    ("buckets", "want"), [(6, 0.78456), (40, 0.20567), (60, 0.2), (100, 0.2)]
)
def test_decay_multiplier(impl: ModuleType, buckets: int, want: float) -> None:
    assert impl.decay_multiplier(buckets) == pytest.approx(want, abs=5e-6)
    assert impl.WeightedBuckets(buckets).decay == impl.decay_multiplier(buckets)


def test_public_module_exports_a_build() -> None:
    assert windowed.TimedBuckets.__module__.startswith("knpy.runtime.hotpath.windowed_")
    assert isinstance(windowed.COMPILED, bool)
    b = windowed.WeightedBuckets(60.0)
    b.record(T0, 10.0)
    assert b.window_average(T0) == pytest.approx(2.0)


# ------------------------------------------------------------------ Knative's test cases


@pytest.mark.parametrize(
    ("granularity", "stats", "want"),
    [
        # activator poke + scrape in the same second are summed
        (1.0, [(0.0, 1.0), (0.1, 10.0), (1.0, 1.0), (3.0, 1.0)], {0.0: 11.0, 1.0: 1.0, 3.0: 1.0}),
        (5.0, [(0.0, 1.0), (3.0, 11.0), (6.0, 1.0)], {0.0: 12.0, 5.0: 1.0}),
        (1.0, [], {}),
    ],
)
def test_knative_simple(
    impl: ModuleType, granularity: float, stats: list[tuple[float, float]], want: dict
) -> None:
    b = impl.TimedBuckets(120.0, granularity)
    assert b.is_empty(T0)
    for t, v in stats:
        b.record(T0 + t, v)
    got = {t - T0: v for t, v in b.snapshot(T0 + 60) if v > 0}
    assert got == want
    assert b.is_empty(T0 + 60) == (not want)


def test_knative_many_reps(impl: ModuleType) -> None:
    b = impl.TimedBuckets(60.0)
    now = T0
    for p in range(5):
        now += 1
        for t in range(5):
            b.record(now, float(p + t))
    assert total(b, now) == 100.0


def test_knative_many_reps_non_monotonic(impl: ModuleType) -> None:
    b = impl.TimedBuckets(60.0)
    end = T0
    for p, d in enumerate([0, 3, 2, 1, 4]):
        end = T0 + d
        for t in range(5):
            b.record(end, float(p + t))
    assert total(b, end) == 100.0


def test_knative_weighted_average(impl: ModuleType) -> None:
    now = T0 + 0.25
    b = impl.WeightedBuckets(5.0)
    m = b.decay
    b.record(now, 2)
    want = 2 * m
    assert b.window_average(now) == want
    want *= 1 - m  # one second later, no writes
    assert b.window_average(now + 1) == want
    b.record(now + 1, 2)
    want += 2 * m
    assert b.window_average(now + 1) == want
    for i in range(5):  # fill the window with [2, 3, 4, 5, 6]
        b.record(now + 2 + i, float(i + 2))
    want = (
        6 * m
        + 5 * m * (1 - m)
        + 4 * m * (1 - m) * (1 - m)
        + 3 * m * (1 - m) * (1 - m) * (1 - m)
        + 2 * m * (1 - m) * (1 - m) * (1 - m) * (1 - m)
    )
    assert b.window_average(now + 6) == pytest.approx(want, rel=1e-15)
    assert b.window_average(now + 16) == 0.0


def test_knative_window_average(impl: ModuleType) -> None:
    now = T0 + 0.5
    b = impl.TimedBuckets(5.0)
    b.record(now, 1)
    assert b.window_average(now) == 1.0
    for i in range(1, 5):
        b.record(now + i, float(i + 1))
    assert b.window_average(now + 4) == 15 / 5
    assert b.window_average(now + 3.6) == 15 / 5  # `now` lags behind the newest write
    assert b.window_average(now + 6) == (15 - 1 - 2) / (5 - 2)  # short hole
    assert b.window_average(now + 10) == 0.0  # long hole
    b.record(now + 6, 91)  # write after a hole
    assert b.window_average(now + 6) == (15 - 1 - 2 + 91) / 5

    now += 60  # much farther: a fresh partial window
    b.record(now, 1984)
    assert b.window_average(now) == 1984.0
    b.record(now - 3, 4)  # an earlier time inside the window
    assert b.window_average(now) == (4 + 1984) / 4
    now += 1
    b.record(now, 5)
    assert b.window_average(now) == (4 + 1984 + 5) / 5
    b.record(now - 3, 10)
    assert b.window_average(now) == (4 + 10 + 1984 + 5) / 5
    b.record(now - 6, 10)  # too old: ignored
    assert b.window_average(now) == (4 + 10 + 1984 + 5) / 5
    b.record(now - 5, 10)  # exactly a window old: ignored
    assert b.window_average(now) == (4 + 10 + 1984 + 5) / 5
    b.record(now + 5, 10)  # exactly a window of silence: reset
    assert b.window_average(now + 5) == 10.0


def test_knative_descending_record(impl: ModuleType) -> None:
    b = impl.TimedBuckets(5.0)
    for i in range(8, -1, -1):
        b.record(T0 + i, 5)
    assert b.window_average(T0 + 5) == 5.0


def test_knative_holes(impl: ModuleType) -> None:
    b = impl.TimedBuckets(5.0)
    for i in range(5):
        b.record(T0 + i, float(i + 1))
    assert total(b, T0 + 4) == 15.0
    assert b.window_average(T0 + 4) == 3.0
    b.record(T0 + 8, 2.0)  # seconds 5, 6, 7 become zero; 3 -> 4 and 4 -> 5 remain
    assert total(b, T0 + 8) == 7.0


def _fill_rollover(b: object) -> float:
    for i in range(6):
        b.record(T0 + i, float(i + 1))  # type: ignore[attr-defined]
    return T0 + 5


def test_knative_weighted_resize(impl: ModuleType) -> None:
    b = impl.WeightedBuckets(5.0)
    assert b.decay == impl.decay_multiplier(5)
    now = _fill_rollover(b)
    assert total(b, now) == 2 + 3 + 4 + 5 + 6
    assert round(b.window_average(now), 3) == 5.812
    b.resize_window(10.0, now)
    assert b.num_buckets == 10
    assert b.window_s == 10.0
    assert b.decay == impl.decay_multiplier(10)


def test_knative_timed_resize(impl: ModuleType) -> None:
    b = impl.TimedBuckets(5.0)
    now = _fill_rollover(b)
    initial = 2.0 + 3 + 4 + 5 + 6
    assert total(b, now) == initial
    assert b.window_average(now) == initial / 5

    b.resize_window(10.0, now)
    assert (b.num_buckets, b.window_s) == (10, 10.0)
    assert total(b, now) == initial
    assert b.window_average(now) == initial / 5  # at most 5 buckets hold data

    now += 1
    b.record(now, 7)
    assert total(b, now) == initial + 7
    assert b.window_average(now) == round((initial + 7) / 6, 6)

    b.resize_window(4.0, now)  # shrinking keeps the newest 4 buckets
    assert b.num_buckets == 4
    assert total(b, now) == initial + 7 - 2 - 3
    assert b.window_average(now) == (initial + 7 - 2 - 3) / 4
    b.resize_window(4.0, now)  # same window: no change
    assert total(b, now) == initial + 7 - 2 - 3


def test_knative_resize_3s_granularity(impl: ModuleType) -> None:
    start = T0 - math.fmod(T0, 3.0)
    b = impl.TimedBuckets(5.0, 3.0)
    assert b.num_buckets == 2  # ceil(5 / 3)
    for i, v in enumerate([10, 2, 3, 4, 5, 6, 7]):
        b.record(start + i, float(v))  # the 7 at +6 s overwrites the first bucket (15)
    want = 4.0 + 5 + 6 + 7
    assert total(b, start + 6) == want
    b.resize_window(10.0, start + 6)
    assert b.num_buckets == 4
    assert total(b, start + 6) == want
    b.record(start + 9.3, 42)
    assert total(b, start + 9) == want + 42
    b.resize_window(4.0, start + 9)
    assert b.num_buckets == 2
    assert total(b, start + 9) == 42 + 7


def test_knative_resize_stale_data_is_dropped(impl: ModuleType) -> None:
    b = impl.TimedBuckets(5.0)
    b.record(T0, 19.82)
    b.resize_window(10.0, T0 + 60)  # the newest data is a minute old
    assert b.window_average(T0 + 6) == 0.0
    assert total(b, T0 + 6) == 0.0
    b.record(T0 + 61, 3.0)
    assert b.window_average(T0 + 61) == 3.0


def test_resize_without_now_uses_the_newest_time_seen(impl: ModuleType) -> None:
    fresh = impl.TimedBuckets(5.0)
    fresh.record(T0, 4.0)
    fresh.resize_window(10.0)  # nothing newer seen: the data is current and kept
    assert total(fresh, T0) == 4.0
    # Knative then assumes the old window (5 buckets) was covered: 4 / 5.
    assert fresh.window_average(T0) == 0.8

    stale = impl.TimedBuckets(5.0)
    stale.record(T0, 4.0)
    assert stale.window_average(T0 + 30) == 0.0  # the autoscaler's tick moves "now"
    stale.resize_window(60.0)
    assert stale.window_average(T0 + 30) == 0.0
    assert stale.snapshot(T0 + 30) == [(T0, 0.0)] + [(T0 - i, 0.0) for i in range(1, 30)]


def test_round_half_away_from_zero() -> None:
    r = windowed_py._round6
    assert r(3.6e-17) == 0.0
    assert r(-3.6e-17) == 0.0
    assert r(0.0000004) == 0.0
    assert r(0.0000005) == 0.000001  # half rounds away from zero (Go), not to even
    assert r(-0.0000005) == -0.000001
    assert r(1.2345675) == 1.234568
    assert r(12345.0) == 12345.0
    assert r(1e300) == 1e300


def test_linear_average_is_rounded_to_6_digits(impl: ModuleType) -> None:
    b = impl.TimedBuckets(3.0)
    b.record(T0, 1.0)
    b.record(T0 + 2, 1.0)
    assert b.window_average(T0 + 2) == 0.666667


# ------------------------------------------------------------------ edge cases


@pytest.mark.parametrize("cls", ["TimedBuckets", "WeightedBuckets"])
@pytest.mark.parametrize(
    ("args", "name"),
    [
        ((0.0,), "window_s"),
        ((-5.0,), "window_s"),
        ((math.nan,), "window_s"),
        ((math.inf,), "window_s"),
        ((60.0, 0.0), "granularity_s"),
        ((60.0, -1.0), "granularity_s"),
        ((60.0, math.nan), "granularity_s"),
        ((1e-10,), "window_s"),
    ],
)
def test_bad_parameters_name_the_field(
    impl: ModuleType, cls: str, args: tuple, name: str
) -> None:
    with pytest.raises(ValueError, match=name):
        getattr(impl, cls)(*args)


@pytest.mark.parametrize("cls", ["TimedBuckets", "WeightedBuckets"])
def test_wrong_types_name_the_field(impl: ModuleType, cls: str) -> None:
    with pytest.raises(TypeError, match="window_s"):
        getattr(impl, cls)("60")
    with pytest.raises(TypeError, match="granularity_s"):
        getattr(impl, cls)(60.0, True)


def test_too_many_buckets_is_refused(impl: ModuleType) -> None:
    with pytest.raises(ValueError, match="buckets"):
        impl.TimedBuckets(3600.0, 0.001)
    b = impl.TimedBuckets(60.0)
    with pytest.raises(ValueError, match="buckets"):
        b.resize_window(1e8)
    with pytest.raises(ValueError, match="window_s"):
        b.resize_window(-1.0)
    assert b.num_buckets == 60


@pytest.mark.parametrize("cls", ["TimedBuckets", "WeightedBuckets"])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 1e300])
def test_bad_times_and_values_are_refused(impl: ModuleType, cls: str, bad: float) -> None:
    b = getattr(impl, cls)(10.0)
    b.record(T0, 1.0)
    with pytest.raises(ValueError, match="now"):
        b.record(bad, 1.0)
    with pytest.raises(ValueError, match="now"):
        b.window_average(bad)
    with pytest.raises(ValueError, match="now"):
        b.is_empty(bad)
    if bad != 1e300:  # a huge value is finite and accepted
        with pytest.raises(ValueError, match="value"):
            b.record(T0, bad)
    assert total(b, T0) == 1.0  # refused calls change nothing


def test_empty_before_any_write(impl: ModuleType) -> None:
    for b in (impl.TimedBuckets(60.0), impl.WeightedBuckets(60.0)):
        assert b.is_empty(T0)
        assert b.window_average(T0) == 0.0
        assert b.snapshot(T0) == []


def test_is_empty_follows_the_window(impl: ModuleType) -> None:
    b = impl.TimedBuckets(5.0)
    b.record(T0, 0.0)  # a recorded zero still counts as data
    assert not b.is_empty(T0)
    assert not b.is_empty(T0 + 5)
    assert b.is_empty(T0 + 6)


def test_time_going_backwards(impl: ModuleType) -> None:
    b = impl.TimedBuckets(10.0)
    b.record(T0 + 20, 4.0)
    b.record(T0 + 15, 6.0)  # older, still inside the window: added to its own second
    assert total(b, T0 + 20) == 10.0
    b.record(T0 + 10, 100.0)  # a full window older than the newest write: ignored
    assert total(b, T0 + 20) == 10.0
    # Querying in the past does not rewind anything.
    assert b.window_average(T0 + 17) == b.window_average(T0 + 20)


def test_long_silence_resets_first_write(impl: ModuleType) -> None:
    b = impl.TimedBuckets(60.0)
    for i in range(60):
        b.record(T0 + i, 10.0)
    assert b.window_average(T0 + 59) == 10.0
    b.record(T0 + 59 + 3600, 2.0)
    assert b.window_average(T0 + 59 + 3600) == 2.0  # a fresh partial window of 1 s
    assert total(b, T0 + 59 + 3600) == 2.0


def test_fractional_and_negative_times(impl: ModuleType) -> None:
    b = impl.TimedBuckets(5.0, 0.5)
    b.record(-0.75, 1.0)  # bucket [-1.0, -0.5)
    b.record(-0.5, 2.0)  # bucket [-0.5, 0.0)
    assert b.snapshot(-0.5) == [(-0.5, 2.0), (-1.0, 1.0)] + [
        (-1.0 - 0.5 * i, 0.0) for i in range(1, 9)
    ]
    assert b.window_average(-0.5) == 1.5


def test_weighted_long_window_tracks_recent_load(impl: ModuleType) -> None:
    b = impl.WeightedBuckets(60.0)
    for i in range(60):
        b.record(T0 + i, 10.0)
    full = b.window_average(T0 + 59)
    assert full == pytest.approx(10.0 * (1 - 0.8**60), rel=1e-12)
    b.record(T0 + 60, 0.0)  # every weight decays by 0.8 and the oldest bucket drops out
    want = full * 0.8 - 10.0 * 0.2 * 0.8**60
    assert b.window_average(T0 + 60) == pytest.approx(want, rel=1e-12)
