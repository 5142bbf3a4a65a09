"""FieldError paths and messages, ConfigMap parsing, duration parsing."""

from __future__ import annotations

import pytest

from knpy.runtime.config import (
    ConfigMapReader,
    FieldError,
    join_path,
    parse_go_duration,
    parse_iso8601_duration,
    split_path,
)


def test_nested_paths_render_like_knative() -> None:
    err = FieldError.invalid("a ==", "cesql", "syntax error").via_index(1).via_field(
        "spec", "filters")
    assert str(err) == "spec.filters[1].cesql: invalid value: a ==: syntax error"
    assert err.paths == ["spec.filters[1].cesql"]


def test_via_key_and_dotted_field() -> None:
    err = FieldError("bad key").via_key("Type").via_field("spec.filter.attributes")
    assert err.paths == ["spec.filter.attributes[Type]"]


def test_also_collects_and_empty_is_falsy() -> None:
    none = FieldError.none()
    assert not none and len(none) == 0 and str(none) == ""
    both = none.also(FieldError.missing("spec.broker"), None,
                     FieldError.immutable("spec.broker").via_field("x"))
    assert len(both) == 2
    assert both.messages() == ["spec.broker: missing field(s)",
                               "x.spec.broker: immutable field changed"]


def test_is_a_value_error_and_raisable() -> None:
    with pytest.raises(ValueError, match=r"spec\.delivery\.retry: invalid value: -1"):
        raise FieldError.invalid(-1, "retry").via_field("spec", "delivery")


def test_multiple_paths_in_one_error() -> None:
    err = FieldError.one_of("uri", "ref").via_field("spec.subscriber")
    assert str(err) == "spec.subscriber.ref, spec.subscriber.uri: expected exactly one, got both"


def test_split_and_join_round_trip() -> None:
    for p in ("spec.filters[1].cesql", "a", "a[0][1].b", "data[max-scale]",
              "metadata.annotations[eventing.knative.dev/broker.class]"):
        assert join_path(split_path(p)) == p


@pytest.mark.parametrize(("text", "secs"), [
    ("PT0.2S", 0.2), ("PT1S", 1.0), ("PT1M30S", 90.0), ("P1D", 86400.0), ("PT2H", 7200.0),
    ("P1DT1S", 86401.0), ("pt10s", 10.0), ("PT0,5S", 0.5), ("P1W", 604800.0)])
def test_iso8601_durations(text: str, secs: float) -> None:
    assert parse_iso8601_duration(text) == pytest.approx(secs)


@pytest.mark.parametrize("text", ["", "P", "PT", "1S", "PT1", "P1S", "PTS", "10s", "PT-1S",
                                  "P1DT"])
def test_iso8601_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="ISO-8601"):
        parse_iso8601_duration(text)


@pytest.mark.parametrize(("text", "secs"), [
    ("10s", 10.0), ("1m30s", 90.0), ("250ms", 0.25), ("1h", 3600.0), ("0", 0.0),
    ("-2s", -2.0), ("1.5s", 1.5)])
def test_go_durations(text: str, secs: float) -> None:
    assert parse_go_duration(text) == pytest.approx(secs)


@pytest.mark.parametrize("text", ["", "10", "s", "10x", "1m x"])
def test_go_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_go_duration(text)


def test_configmap_reader_collects_every_bad_key() -> None:
    r = ConfigMapReader("config-eventing", {
        "ingress-host": "broker.example", "workers": "lots", "resync-period": "soon",
        "leader-election": "maybe", "_example": "ignored: docs", "policy": "odd"})
    assert r.string("ingress-host", "x") == "broker.example"
    assert r.integer("workers", 2) == 2
    assert r.duration("resync-period", 60.0) == 60.0
    assert r.boolean("leader-election", True) is True
    assert r.choice("policy", "a", ["a", "b"]) == "a"
    assert r.string("missing", "dflt") == "dflt"
    with pytest.raises(FieldError) as ei:
        r.raise_if_errors()
    assert ei.value.paths == ["config-eventing[leader-election]", "config-eventing[policy]",
                              "config-eventing[resync-period]", "config-eventing[workers]"]
    assert "want an integer" in str(ei.value)


def test_configmap_reader_bounds() -> None:
    r = ConfigMapReader("cm", {"n": "0", "d": "0s"})
    r.integer("n", 5, minimum=1)
    r.duration("d", 1.0, positive=True)
    assert len(r.errors) == 2


def test_out_of_bounds_names_the_range_and_the_value() -> None:
    err = FieldError.out_of_bounds(1001, 0, 1000, "containerConcurrency").via_field(
        "spec.template.spec")
    assert err.error() == ("spec.template.spec.containerConcurrency: must be between 0 and "
                           "1000: got 1001")
