"""Invariants of the KPA decision over random observation sequences (hypothesis)."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from knpy.autoscaler.decider import Decider
from tests.unit.autoscaler.helpers import settings

steps = st.lists(st.tuples(
    st.floats(min_value=0.0, max_value=30.0),              # seconds since the last decision
    st.integers(min_value=0, max_value=200),               # ready pods
    st.floats(min_value=0.0, max_value=5000.0),            # stable average
    st.floats(min_value=0.0, max_value=5000.0),            # panic average
), min_size=1, max_size=40)


@hsettings(max_examples=200, deadline=None)
@given(steps, st.sampled_from([1.0, 10.0, 100.0]), st.sampled_from([1.1, 2.0, 10.0]),
       st.sampled_from([1.1, 2.0, 1000.0]), st.sampled_from([1, 3]))
def test_invariants(seq: list[tuple[float, int, float, float]], target: float,
                    down_rate: float, up_rate: float, activation: int) -> None:
    s = settings(target, 100.0, max_scale_down_rate=down_rate, max_scale_up_rate=up_rate,
                 activation_scale=activation)
    now = 0.0
    d = Decider(s, now, ready_pods=1)
    previous: int | None = None
    was_panicking = False
    for dt, ready, stable, panic in seq:
        now += dt
        r = d.scale(now, ready, stable, panic)
        base = max(1, ready)
        assert r.desired >= 0
        if not r.panicking:
            # Stable mode: within the rate limits, or lifted to the activation scale.
            lo = math.floor(base / down_rate)
            hi = math.ceil(up_rate * base)
            assert lo <= r.desired <= hi or (r.desired == activation and stable > 0)
        elif was_panicking and previous is not None:
            # Panic never scales down.
            assert r.desired >= previous
        # EBC follows its formula (TBC 100 > 0).
        assert r.excess_burst_capacity == math.floor(ready * s.total - 100.0 - panic)
        previous, was_panicking = r.desired, r.panicking
