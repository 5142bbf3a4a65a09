"""The metrics registry and its text exposition, read back by a parser (tests/support/prom)."""

from __future__ import annotations

import pytest

from knpy.runtime.observability.metrics import Histogram, Registry, code_class
from tests.support.prom import parse, value


def test_counter_and_gauge_values_round_trip() -> None:
    reg = Registry()
    c = reg.counter("things_total", "Things", ("ns",))
    g = reg.gauge("level", "Level")
    c.labels("a").value += 1
    c.labels("a").inc(2)
    c.labels("b").inc()
    g.labels().set(0.25)
    samples, types = parse(reg.render().decode())
    assert types == {"things_total": "counter", "level": "gauge"}
    assert value(samples, "things_total", ns="a") == 3
    assert value(samples, "things_total", ns="b") == 1
    assert value(samples, "level") == 0.25


def test_label_values_are_escaped() -> None:
    reg = Registry()
    tricky = 'a"b\\c\nd'
    reg.counter("x_total", "help with \\ and\nnewline", ("v",)).labels(tricky).inc()
    text = reg.render().decode()
    assert 'v="a\\"b\\\\c\\nd"' in text
    assert "# HELP x_total help with \\\\ and\\nnewline" in text
    samples, _ = parse(text)
    assert value(samples, "x_total", v=tricky) == 1


def test_histogram_buckets_are_cumulative_and_match_count_and_sum() -> None:
    reg = Registry()
    h = reg.histogram("lat_seconds", "Latency", ("c",), buckets=(0.1, 0.5, 1.0))
    child = h.labels("2xx")
    for v in (0.05, 0.1, 0.3, 0.7, 2.0, 5.0):  # 0.1 sits in le=0.1 (bounds are inclusive)
        child.observe(v)
    samples, types = parse(reg.render().decode())
    assert types["lat_seconds"] == "histogram"
    buckets = [value(samples, "lat_seconds_bucket", c="2xx", le=le)
               for le in ("0.1", "0.5", "1", "+Inf")]
    assert buckets == [2, 3, 4, 6]
    assert buckets == sorted(buckets)  # monotonic
    assert value(samples, "lat_seconds_count", c="2xx") == 6 == buckets[-1]
    assert value(samples, "lat_seconds_sum", c="2xx") == pytest.approx(8.15)


def test_attached_and_collected_samples_render() -> None:
    reg = Registry()
    h = Histogram((1.0,))
    h.observe(0.5)
    reg.histogram("d_seconds", "D", ("r",), buckets=(1.0,)).attach(h, "rev")
    reg.collected("requests_count", "counter", "compat", ("r",), lambda: [(("rev",), h.count)])
    samples, types = parse(reg.render().decode())
    assert value(samples, "d_seconds_count", r="rev") == 1
    assert value(samples, "requests_count", r="rev") == 1
    assert types["requests_count"] == "counter"


def test_removed_label_set_is_no_longer_rendered() -> None:
    reg = Registry()
    fam = reg.gauge("pods", "Pods", ("rev",))
    fam.labels("old").set(3)
    fam.remove("old")
    samples, _ = parse(reg.render().decode())
    assert value(samples, "pods", rev="old") == 0 and not samples


def test_conventions_enforced() -> None:
    reg = Registry()
    with pytest.raises(ValueError, match="_total"):
        reg.counter("requests", "no suffix")
    reg.gauge("g", "G")
    with pytest.raises(ValueError, match="twice"):
        reg.gauge("g", "G")
    with pytest.raises(ValueError, match="label values"):
        reg.gauge("h", "H", ("a", "b")).labels("only-one")


@pytest.mark.parametrize(("status", "cls"), [(101, "1xx"), (200, "2xx"), (302, "3xx"),
                                             (404, "4xx"), (503, "5xx"), (0, "5xx"),
                                             (999, "5xx")])
def test_code_class(status: int, cls: str) -> None:
    assert code_class(status) == cls
