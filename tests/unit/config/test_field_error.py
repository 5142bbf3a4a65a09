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
    assert str(err) == "invalid value: a ==: spec.filters[1].cesql\nsyntax error"
    assert err.paths == ["spec.filters[1].cesql"]


def test_via_key_and_dotted_field() -> None:
    err = FieldError("bad key").via_key("Type").via_field("spec.filter.attributes")
    assert err.paths == ["spec.filter.attributes[Type]"]


def test_single_error_is_message_then_path() -> None:
    assert str(FieldError.missing("spec.broker")) == "missing field(s): spec.broker"


def test_error_without_a_path_is_its_message() -> None:
    assert str(FieldError("The provided original was not a Channel")) == \
        "The provided original was not a Channel"


def test_details_go_on_the_next_line() -> None:
    err = FieldError.invalid(-1, "retry", "must be >= 0").via_field("spec", "delivery")
    assert str(err) == "invalid value: -1: spec.delivery.retry\nmust be >= 0"


def test_also_collects_and_empty_is_falsy() -> None:
    none = FieldError.none()
    assert not none and len(none) == 0 and str(none) == ""
    both = none.also(FieldError.missing("spec.broker"), None,
                     FieldError.disallowed("spec.broker").via_field("x"))
    assert len(both) == 2
    assert both.messages() == ["missing field(s): spec.broker",
                               "must not set the field(s): x.spec.broker"]


def test_is_a_value_error_and_raisable() -> None:
    with pytest.raises(ValueError, match=r"invalid value: -1: spec\.delivery\.retry"):
        raise FieldError.invalid(-1, "retry").via_field("spec", "delivery")


def test_multiple_paths_in_one_error_are_sorted() -> None:
    err = FieldError.one_of("uri", "ref").via_field("spec.subscriber")
    assert str(err) == "expected exactly one, got both: spec.subscriber.ref, spec.subscriber.uri"


def test_same_message_and_details_merge_their_paths() -> None:
    err = FieldError.missing("spec.b").also(FieldError.missing("spec.a"),
                                            FieldError.missing("spec.b"))
    assert str(err) == "missing field(s): spec.a, spec.b"


def test_different_details_do_not_merge() -> None:
    err = FieldError.invalid(1, "b", "too small").also(FieldError.invalid(1, "a", "odd"))
    assert err.messages() == ["invalid value: 1: a\nodd", "invalid value: 1: b\ntoo small"]


def test_errors_sort_by_message_then_details_and_join_by_newlines() -> None:
    err = FieldError.missing("z").also(
        FieldError.invalid("x", "b", "zzz"), FieldError.disallowed("a"),
        FieldError.invalid("x", "c", "aaa"))
    assert str(err) == ("invalid value: x: c\naaa\n"
                        "invalid value: x: b\nzzz\n"
                        "missing field(s): z\n"
                        "must not set the field(s): a")


def test_merged_errors_compare_equal() -> None:
    assert FieldError.missing("a", "b") == FieldError.missing("b").also(FieldError.missing("a"))


def test_missing_one_of_is_knatives_got_neither() -> None:
    assert str(FieldError.missing_one_of("uri", "ref")) == \
        "expected exactly one, got neither: ref, uri"


def test_immutable_shows_old_and_new() -> None:
    err = FieldError.immutable("broker", "default", "other").via_field("spec")
    assert str(err) == ('Immutable fields changed (-old +new): spec.broker\n'
                        '-: "default"\n+: "other"')


def test_immutable_of_mappings_lists_only_the_changed_keys() -> None:
    err = FieldError.immutable("spec", {"a": 1, "b": 2}, {"a": 1, "b": 3, "c": "x"})
    assert str(err) == ('Immutable fields changed (-old +new): spec\n'
                        'b:\n\t-: 2\n\t+: 3\nc:\n\t-: null\n\t+: "x"')


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


def test_out_of_bounds_is_knatives_expected_lo_v_hi() -> None:
    err = FieldError.out_of_bounds(1001, 0, 1000, "containerConcurrency").via_field(
        "spec.template.spec")
    assert err.error() == "expected 0 <= 1001 <= 1000: spec.template.spec.containerConcurrency"
