"""The compiled and the pure request stats give identical results.

Hypothesis drives the same random event sequences (proxied and not, timestamps slightly out
of order, unmatched request_out, bad times) through both builds and requires the same
reports bit for bit and the same errors.
"""

from __future__ import annotations

import math
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from knpy.runtime.hotpath import reqstats_py

if os.environ.get("KNPY_NO_EXTENSIONS"):
    pytest.skip("compiled build disabled by KNPY_NO_EXTENSIONS", allow_module_level=True)

from knpy.runtime.hotpath import reqstats_c

steps = st.one_of(
    st.floats(min_value=0.0, max_value=2.0, allow_nan=False),
    st.sampled_from([0.0, 0.001, 0.1, 1 / 3, -0.002, -0.5, 3600.0]),
)
events = st.lists(
    st.tuples(
        st.sampled_from(["in", "in", "out", "out", "report", "bad"]),
        steps,
        st.booleans(),
    ),
    max_size=120,
)


def play(mod: object, start: float, script: list) -> list:
    s = mod.RequestStats(start)  # type: ignore[attr-defined]
    now = start
    out: list = []
    for op, step, proxied in script:
        now += step
        try:
            if op == "in":
                s.request_in(now, proxied)
            elif op == "out":
                s.request_out(now, proxied=proxied)
            elif op == "report":
                out.append(s.report(now))
            else:
                s.request_in(math.nan if proxied else math.inf)
        except ValueError as e:
            out.append(str(e))
        out.append((s.concurrency, s.proxied_concurrency))
    out.append(s.report(now + 1.0))
    return out


@settings(max_examples=400, deadline=None)
@given(start=st.floats(min_value=-1e6, max_value=1e9, allow_nan=False), script=events)
def test_builds_agree(start: float, script: list) -> None:
    assert play(reqstats_py, start, script) == play(reqstats_c, start, script)


@settings(max_examples=200, deadline=None)
@given(
    spans=st.lists(
        st.tuples(st.integers(0, 999), st.integers(0, 1000), st.booleans()), max_size=40
    )
)
def test_average_is_the_time_weighted_in_flight_count(
    spans: list[tuple[int, int, bool]],
) -> None:
    """Requests [start, start + length) ms inside one 1 s report: the average concurrency is
    the summed request time over 1 s, the proxied one likewise, and both builds agree."""
    evs = []
    for start, length, proxied in spans:
        end = min(start + length, 1000)
        evs.append((start, 0, proxied))  # ins sort before outs at the same millisecond
        evs.append((end, 1, proxied))
    evs.sort()
    reports = []
    for mod in (reqstats_py, reqstats_c):
        s = mod.RequestStats(0.0)
        for ms, kind, proxied in evs:
            (s.request_out if kind else s.request_in)(ms / 1000, proxied)
        reports.append(s.report(1.0))
    busy = sum(min(a + n, 1000) - a for a, n, _ in spans) / 1000
    busy_p = sum(min(a + n, 1000) - a for a, n, p in spans if p) / 1000
    assert reports[0] == reports[1]
    assert reports[0] == pytest.approx(
        (busy, busy_p, len(spans), sum(p for *_, p in spans)), abs=1e-9
    )
