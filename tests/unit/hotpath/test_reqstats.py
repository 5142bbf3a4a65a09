"""Request stats: Knative's RequestStats test vectors (knative.dev/networking
pkg/http/stats/request_test.go) and edge cases, run against both builds."""

from __future__ import annotations

import importlib
import math
import os
from types import ModuleType

import pytest

from knpy.runtime.hotpath import reqstats

Report = tuple[float, float, float, float]


@pytest.fixture(params=["py", "c"])
def impl(request: pytest.FixtureRequest) -> ModuleType:
    if request.param == "c" and os.environ.get("KNPY_NO_EXTENSIONS"):
        pytest.skip("compiled build disabled by KNPY_NO_EXTENSIONS")
    return importlib.import_module(f"knpy.runtime.hotpath.reqstats_{request.param}")


def run(impl: ModuleType, script: str) -> list[Report]:
    """Play "in 0, out 1000, report 1000, inP 0, outP 500" (milliseconds from 0)."""
    s = impl.RequestStats(0.0)
    reports: list[Report] = []
    for step in script.split(","):
        op, ms = step.split()
        now = int(ms) / 1000
        if op == "report":
            reports.append(s.report(now))
        elif op.startswith("in"):
            s.request_in(now, proxied=op.endswith("P"))
        else:
            s.request_out(now, proxied=op.endswith("P"))
    return reports


# (name, events, [(avg concurrency, avg proxied concurrency, requests, proxied requests)])
KNATIVE_VECTORS = [
    ("no requests", "report 1000", [(0, 0, 0, 0)]),
    ("1 request, entire time", "in 0, out 1000, report 1000", [(1, 0, 1, 0)]),
    ("1 request, half the time", "in 0, out 3000, report 6000", [(0.5, 0, 1, 0)]),
    ("very short request", "in 0, out 1, report 1000", [(1 / 1000, 0, 1, 0)]),
    (
        "3 requests, fill entire time",
        "in 0, out 300, in 300, out 600, in 600, out 1000, report 1000",
        [(1, 0, 3, 0)],
    ),
    ("interleaved requests", "in 0, in 100, out 600, out 1000, report 1000", [(1.5, 0, 2, 0)]),
    (
        "request across reporting",
        "in 0, report 1000, out 1500, report 2000",
        [(1, 0, 1, 0), (0.5, 0, 0, 0)],
    ),
    (
        "request across multiple reportings",
        "in 0, report 1000, report 2000, report 3000, out 3500, report 4000",
        [(1, 0, 1, 0), (1, 0, 0, 0), (1, 0, 0, 0), (0.5, 0, 0, 0)],
    ),
    ("1 request, proxied, entire time", "inP 0, outP 1000, report 1000", [(1, 1, 1, 1)]),
    ("1 request, proxied, half the time", "inP 0, outP 500, report 1000", [(0.5, 0.5, 1, 1)]),
    (
        "2 requests, proxied and non proxied",
        "inP 0, in 0, outP 500, out 1000, report 1000",
        [(1.5, 0.5, 2, 1)],
    ),
    (
        "ignore 'negative' requests",
        "in 500, in 499, out 1000, out 999, report 1000",
        [(1, 0, 2, 0)],
    ),
]


@pytest.mark.parametrize(("events", "want"), [v[1:] for v in KNATIVE_VECTORS],
                         ids=[v[0] for v in KNATIVE_VECTORS])
def test_knative_vectors(impl: ModuleType, events: str, want: list[Report]) -> None:
    got = run(impl, events)
    assert got == [pytest.approx(w, rel=1e-12, abs=1e-15) for w in want]


def test_a_proxied_request_counts_in_both_figures(impl: ModuleType) -> None:
    s = impl.RequestStats(10.0)
    s.request_in(10.0, proxied=True)
    assert (s.concurrency, s.proxied_concurrency) == (1.0, 1.0)
    s.request_in(10.0)
    assert (s.concurrency, s.proxied_concurrency) == (2.0, 1.0)
    assert s.report(11.0) == (2.0, 1.0, 2.0, 1.0)


def test_report_resets_the_window_but_not_in_flight_requests(impl: ModuleType) -> None:
    s = impl.RequestStats(0.0)
    s.request_in(0.0)
    s.request_in(0.5, proxied=True)
    assert s.report(1.0) == (1.5, 0.5, 2.0, 1.0)
    assert s.report(2.0) == (2.0, 1.0, 0.0, 0.0)  # both still in flight
    s.request_out(2.0, proxied=True)
    s.request_out(2.0)
    assert s.report(3.0) == (0.0, 0.0, 0.0, 0.0)
    assert (s.concurrency, s.proxied_concurrency) == (0.0, 0.0)


def test_report_with_no_time_passed_has_zero_averages(impl: ModuleType) -> None:
    s = impl.RequestStats(5.0)
    s.request_in(5.0)
    assert s.report(5.0) == (0.0, 0.0, 1.0, 0.0)
    assert s.report(4.0) == (0.0, 0.0, 0.0, 0.0)  # a report in the past: no time, no counts


def test_time_going_backwards_never_rewinds(impl: ModuleType) -> None:
    s = impl.RequestStats(100.0)
    s.request_in(100.0)
    s.request_in(99.0)  # late event: counted, but no negative duration integrated
    s.request_out(101.0)
    s.request_out(100.5)  # before the last change: only the count of in-flight changes
    # 2 in flight over [100, 101], 0 over [101, 102].
    assert s.report(102.0) == (1.0, 0.0, 2.0, 0.0)


def test_long_silence(impl: ModuleType) -> None:
    s = impl.RequestStats(0.0)
    s.request_in(0.0)
    assert s.report(86_400.0) == (1.0, 0.0, 1.0, 0.0)  # one request in flight all day
    s.request_out(86_400.0)
    assert s.report(86_401.0) == (0.0, 0.0, 0.0, 0.0)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_bad_times_are_refused(impl: ModuleType, bad: float) -> None:
    with pytest.raises(ValueError, match="now"):
        impl.RequestStats(bad)
    s = impl.RequestStats(0.0)
    s.request_in(0.0)
    for call in (s.request_in, s.request_out, s.report):
        with pytest.raises(ValueError, match="now"):
            call(bad)
    assert s.report(1.0) == (1.0, 0.0, 1.0, 0.0)  # refused calls changed nothing


def test_constructor_wants_a_number(impl: ModuleType) -> None:
    with pytest.raises(TypeError, match="now"):
        impl.RequestStats("0")
    with pytest.raises(TypeError, match="now"):
        impl.RequestStats(None)


def test_out_without_in_is_refused(impl: ModuleType) -> None:
    s = impl.RequestStats(0.0)
    with pytest.raises(ValueError, match="request_in"):
        s.request_out(1.0)
    s.request_in(1.0)
    with pytest.raises(ValueError, match="proxied"):
        s.request_out(2.0, proxied=True)  # the request in flight was not proxied
    s.request_in(2.0, proxied=True)
    s.request_out(3.0)
    with pytest.raises(ValueError, match="request_in"):
        s.request_out(3.0)  # the only request left in flight is the proxied one
    s.request_out(3.0, proxied=True)
    assert (s.concurrency, s.proxied_concurrency) == (0.0, 0.0)
    assert s.report(3.0) == (1.0, 1 / 3, 2.0, 1.0)


def test_public_module_exports_a_build() -> None:
    assert reqstats.RequestStats.__module__.startswith("knpy.runtime.hotpath.reqstats_")
    assert isinstance(reqstats.COMPILED, bool)
    s = reqstats.RequestStats(0.0)
    s.request_in(0.0)
    s.request_out(0.25)
    assert s.report(1.0) == (0.25, 0.0, 1.0, 0.0)
