"""The compiled and the pure windowed aggregation give identical results.

Hypothesis drives the same random operation sequences (writes in and out of order, long
silences, queries in the past, resizes, bad input) through both builds and requires the
same floats bit for bit, and the same errors.
"""

from __future__ import annotations

import math
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from knpy.runtime.hotpath import windowed_py

if os.environ.get("KNPY_NO_EXTENSIONS"):
    pytest.skip("compiled build disabled by KNPY_NO_EXTENSIONS", allow_module_level=True)

from knpy.runtime.hotpath import windowed_c

BASE = 5_000.0

# Times mostly walk forward in small steps, sometimes jump back or far ahead.
steps = st.one_of(
    st.integers(0, 3).map(float),
    st.sampled_from([0.25, 0.5, 0.999, -1.0, -4.0, -7.5, 30.0, 61.0, 500.0]),
)
values = st.one_of(
    st.integers(-5, 1000).map(float),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False),
    st.sampled_from([0.1, 1 / 3, 1e-7, 2.5e-7, 123456.789]),
)
ops = st.lists(
    st.one_of(
        st.tuples(st.just("record"), steps, values),
        st.tuples(st.just("record"), steps, values),
        st.tuples(st.just("average"), steps, st.just(0.0)),
        st.tuples(st.just("empty"), steps, st.just(0.0)),
        st.tuples(st.just("snapshot"), steps, st.just(0.0)),
        st.tuples(st.just("resize"), steps, st.sampled_from([1.0, 5.0, 6.0, 10.0, 60.0, 61.5])),
        st.tuples(st.just("resize_seen"), steps, st.sampled_from([2.0, 7.0, 60.0])),
        st.tuples(st.just("bad"), steps, st.sampled_from([math.nan, math.inf, -math.inf])),
    ),
    max_size=80,
)
shapes = st.sampled_from([(5.0, 1.0), (6.0, 1.0), (60.0, 1.0), (10.0, 2.0), (5.0, 3.0),
                          (2.0, 0.5), (1.0, 1.0)])


def play(mod: object, cls: str, shape: tuple[float, float], script: list) -> list:
    b = getattr(mod, cls)(*shape)
    now = BASE
    out: list = []
    for op, step, arg in script:
        now += step
        try:
            if op == "record":
                out.append(b.record(now, arg))
            elif op == "average":
                out.append(b.window_average(now))
            elif op == "empty":
                out.append(b.is_empty(now))
            elif op == "snapshot":
                out.append(b.snapshot(now))
            elif op == "resize":
                out.append(b.resize_window(arg, now))
            elif op == "resize_seen":
                out.append(b.resize_window(arg))
            else:
                b.record(arg, 1.0)
        except ValueError as e:
            out.append(("ValueError", str(e)))
        out.append((b.num_buckets, b.window_s))
    out.append(b.window_average(now))
    return out


def same(a: object, b: object) -> bool:
    """Exact equality that also checks float bits (so -0.0 != 0.0 would show up)."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


@pytest.mark.parametrize("cls", ["TimedBuckets", "WeightedBuckets"])
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=shapes, script=ops)
def test_builds_agree(cls: str, shape: tuple[float, float], script: list) -> None:
    pure = play(windowed_py, cls, shape, script)
    compiled = play(windowed_c, cls, shape, script)
    assert same(pure, compiled), (pure, compiled)


@settings(max_examples=200, deadline=None)
@given(n=st.floats(min_value=0.5, max_value=1e6))
def test_decay_multiplier_agrees(n: float) -> None:
    assert windowed_py.decay_multiplier(n) == windowed_c.decay_multiplier(n)


@settings(max_examples=200, deadline=None)
@given(
    data=st.lists(st.tuples(st.integers(0, 59), st.floats(0, 1e4)), min_size=1, max_size=120)
)
def test_linear_average_matches_a_direct_sum(data: list[tuple[int, float]]) -> None:
    """Within one window and in order, the average is (sum of values) / (seconds covered)."""
    data.sort()
    b = windowed_c.TimedBuckets(60.0)
    p = windowed_py.TimedBuckets(60.0)
    for t, v in data:
        b.record(BASE + t, v)
        p.record(BASE + t, v)
    first, last = data[0][0], data[-1][0]
    want = math.fsum(v for _, v in data) / (last - first + 1)
    assert b.window_average(BASE + last) == pytest.approx(want, rel=1e-9, abs=1e-6)
    assert b.window_average(BASE + last) == p.window_average(BASE + last)
