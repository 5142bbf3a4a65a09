"""The Locust suites' verdicts: unbucketed percentiles, limits, --slo overrides, exit code."""

from __future__ import annotations

import math

import pytest

from loadtests.locust.run import parse_slo
from loadtests.locust.slo import Objective, Report, percentile


def test_percentile_is_nearest_rank_on_raw_samples() -> None:
    samples = [float(x) for x in range(1, 101)]
    assert percentile(samples, 50) == 50.0
    assert percentile(samples, 95) == 95.0
    assert percentile(samples, 100) == 100.0
    assert percentile([101.3, 100.7], 95) == 101.3  # not rounded into a bucket
    assert math.isnan(percentile([], 95))


def test_a_missed_or_unmeasured_objective_fails_the_run(capsys: pytest.CaptureFixture) -> None:
    report = Report()
    assert report.check(Objective("broker_lost", 0, "events"), 0)
    assert report.passed
    assert not report.check(Objective("ramp_p95_overhead_ms", 5, "ms"), math.nan)
    assert not report.passed
    out = capsys.readouterr().out.splitlines()
    assert out == ["SLO broker_lost 0 <= 0 events PASS",
                   "SLO ramp_p95_overhead_ms nan <= 5 ms FAIL"]


def test_slo_override_replaces_the_limit(capsys: pytest.CaptureFixture) -> None:
    report = Report(parse_slo(["broker_lost=-1"]))
    assert not report.check(Objective("broker_lost", 0, "events"), 0)
    assert capsys.readouterr().out.strip() == "SLO broker_lost 0 <= -1 events FAIL"


def test_slo_names_are_checked() -> None:
    assert parse_slo(["coldstart_n5_p95_s=2", "dataplane_errors=3"]) == {
        "coldstart_n5_p95_s": 2.0, "dataplane_errors": 3.0}
    with pytest.raises(SystemExit):
        parse_slo(["no_such_slo=1"])
    with pytest.raises(SystemExit):
        parse_slo(["broker_lost"])


def test_no_verdict_is_no_pass() -> None:
    assert not Report().passed
