"""Broker/Trigger defaults and validation messages (field-pathed, as users see them)."""

from __future__ import annotations

import copy
import json

import pytest

from knpy.apis.eventing.v1 import (
    Broker,
    Trigger,
    set_broker_defaults,
    set_trigger_defaults,
    validate_broker,
    validate_broker_update,
    validate_trigger,
    validate_trigger_update,
)
from knpy.runtime import eventfilter

V = eventfilter.validate


def trigger(**spec) -> dict:
    base = {"broker": "default", "subscriber": {"uri": "http://sink.example/"}}
    base.update(spec)
    return {"apiVersion": "eventing.knative.dev/v1", "kind": "Trigger",
            "metadata": {"name": "t", "namespace": "ns"}, "spec": base}


def broker(spec: dict | None = None, cls: str | None = None) -> dict:
    md: dict = {"name": "b", "namespace": "ns"}
    if cls:
        md["annotations"] = {"eventing.knative.dev/broker.class": cls}
    return {"apiVersion": "eventing.knative.dev/v1", "kind": "Broker", "metadata": md,
            "spec": spec or {}}


# ------------------------------------------------------------------ defaults
def test_broker_defaults_class_and_delivery() -> None:
    out = set_broker_defaults(broker())
    assert out["spec"]["delivery"] == {"retry": 10, "backoffPolicy": "exponential",
                                       "backoffDelay": "PT0.2S"}
    assert Broker(out).broker_class == "MTChannelBasedBroker"


def test_broker_defaults_keep_a_given_delivery_and_class() -> None:
    raw = broker({"delivery": {"retry": 3}}, cls="Kafka")
    out = set_broker_defaults(raw)
    assert out["spec"]["delivery"] == {"retry": 3}
    assert Broker(out).broker_class == "Kafka"
    assert raw == broker({"delivery": {"retry": 3}}, cls="Kafka"), "input not mutated"


def test_trigger_defaults() -> None:
    raw = trigger(broker="", subscriber={"ref": {"kind": "Service", "name": "s",
                                                 "apiVersion": "v1"}},
                  delivery={"deadLetterSink": {"ref": {"kind": "Service", "name": "d",
                                                       "apiVersion": "v1"}}})
    out = set_trigger_defaults(raw)
    assert out["spec"]["broker"] == "default"
    assert out["metadata"]["labels"] == {"eventing.knative.dev/broker": "default"}
    assert out["spec"]["subscriber"]["ref"]["namespace"] == "ns"
    assert out["spec"]["delivery"]["deadLetterSink"]["ref"]["namespace"] == "ns"
    assert out["spec"]["filter"] == {}, "Knative defaults a missing filter to {}"
    kept = set_trigger_defaults(trigger(filter={"attributes": {"type": "x"}}))
    assert kept["spec"]["filter"] == {"attributes": {"type": "x"}}


# ------------------------------------------------------------------ validation
def test_valid_trigger_has_no_errors() -> None:
    t = trigger(filter={"attributes": {"type": "com.example", "source": ""}},
                filters=[{"prefix": {"type": "com."}}, {"cesql": "source LIKE '%x%'"}],
                delivery={"retry": 0, "backoffPolicy": "linear", "backoffDelay": "PT1S",
                          "timeout": "PT10S"})
    assert not validate_trigger(t, filters=V), str(validate_trigger(t, filters=V))


def test_knative_trigger_shapes_accepted() -> None:
    # several attributes in one exact/prefix/suffix (eventing #6477), delivery.format, and
    # a subscriber no sender can reach (it is kept; its deliveries dead-letter)
    t = trigger(filters=[{"exact": {"type": "a", "source": "b"}},
                         {"suffix": {"type": "a", "subject": "z"}}],
                delivery={"format": "json"}, subscriber={"uri": "bad://uri"})
    assert not validate_trigger(t, filters=V), str(validate_trigger(t, filters=V))


@pytest.mark.parametrize(("spec", "path", "words"), [
    ({"filter": {"attributes": {"Type": "x"}}}, "spec.filter.attributes[Type]", ""),
    ({"filter": {"attributes": {"9abc": "x"}}}, "spec.filter.attributes[9abc]", ""),
    ({"filter": {"attributes": {"my-ext": "x"}}}, "spec.filter.attributes[my-ext]", ""),
    ({"filters": [{"exact": {"type": "a"}}, {"exact": {"type": "a"}, "prefix": {"a": "b"}}]},
     "spec.filters[1]", ""),
    ({"filters": [{"exact": {"type": "a"}}, {"cesql": "type = "}]}, "spec.filters[1].cesql",
     ""),
    ({"filters": [{"all": [{"exact": {"type": "a"}}, {"cesql": "((("}]}]},
     "spec.filters[0].all[1].cesql", ""),
    ({"delivery": {"retry": -1}}, "spec.delivery.retry",
     "invalid value: -1: spec.delivery.retry\nmust be >= 0"),
    ({"delivery": {"backoffPolicy": "fibonacci"}}, "spec.delivery.backoffPolicy",
     "invalid value: fibonacci: spec.delivery.backoffPolicy\nwant exponential or linear"),
    ({"delivery": {"backoffDelay": "200ms"}}, "spec.delivery.backoffDelay",
     "invalid value: 200ms: spec.delivery.backoffDelay\n"
     "want an ISO-8601 duration such as PT0.2S"),
    ({"delivery": {"timeout": "PT0S"}}, "spec.delivery.timeout",
     "invalid value: PT0S: spec.delivery.timeout\nmust be"),
    ({"delivery": {"deadLetterSink": {}}},
     "spec.delivery.deadLetterSink.ref, spec.delivery.deadLetterSink.uri",
     "expected at least one, got none: "),
    ({"subscriber": {"uri": "/relative"}}, "spec.subscriber.uri",
     "invalid value: /relative: spec.subscriber.uri\n"
     "Relative URI is not allowed when Ref is absent"),
    ({"subscriber": {"ref": {"kind": "Service", "apiVersion": "v1"}}},
     "spec.subscriber.ref.name", "missing field(s): "),
    ({"subscriber": {"ref": {"kind": "Service", "apiVersion": "v1", "name": "s",
                             "namespace": "other"}}},
     "spec.subscriber.ref.namespace",
     "invalid value: other: spec.subscriber.ref.namespace\ncross-namespace"),
    ({"broker": ""}, "spec.broker", "missing field(s): "),
    ({"delivery": {"format": "xml"}}, "spec.delivery.format",
     "invalid value: xml: spec.delivery.format\nwant json or binary"),
])
def test_trigger_validation_messages(spec: dict, path: str, words: str) -> None:
    errs = validate_trigger(trigger(**spec), filters=V)
    assert errs, f"no error for {spec}"
    assert any(m.splitlines()[0].endswith(": " + path) and words in m
               for m in errs.messages()), errs.messages()


def test_every_error_reported_at_once() -> None:
    errs = validate_trigger(trigger(filter={"attributes": {"A": "x"}},
                                    delivery={"retry": -1, "backoffPolicy": "x"}), filters=V)
    assert errs.paths == ["spec.delivery.backoffPolicy", "spec.delivery.retry",
                          "spec.filter.attributes[A]"]


def test_dependency_annotation_validated() -> None:
    t = trigger()
    t["metadata"]["annotations"] = {"knative.dev/dependency": json.dumps({"kind": "PingSource"})}
    errs = validate_trigger(t, filters=V)
    assert errs.paths == ["metadata.annotations[knative.dev/dependency].apiVersion",
                          "metadata.annotations[knative.dev/dependency].name"]
    assert Trigger(t).dependency is not None


def test_trigger_broker_is_immutable() -> None:
    old = trigger()
    new = copy.deepcopy(old)
    new["spec"]["broker"] = "other"
    assert str(validate_trigger_update(old, new, filters=V)) == \
        'Immutable fields changed (-old +new): spec.broker\n-: "default"\n+: "other"'
    new2 = copy.deepcopy(old)
    new2["spec"]["filter"] = {"attributes": {"type": "y"}}
    assert not validate_trigger_update(old, new2, filters=V)


def test_broker_validation_and_immutability() -> None:
    assert not validate_broker(broker({"delivery": {"retry": 2, "backoffDelay": "PT2S"}}))
    bad = validate_broker(broker({"config": {"kind": "ConfigMap"},
                                  "delivery": {"retry": -3}}))
    assert bad.messages() == [
        "invalid value: -3: spec.delivery.retry\nmust be >= 0",
        "missing field(s): spec.config.apiVersion, spec.config.name"]
    old = broker({"config": {"kind": "ConfigMap", "name": "c", "apiVersion": "v1"}}, cls="A")
    new = copy.deepcopy(old)
    new["metadata"]["annotations"]["eventing.knative.dev/broker.class"] = "B"
    new["spec"]["config"]["name"] = "d"
    assert validate_broker_update(old, new).paths == [
        "metadata.annotations[eventing.knative.dev/broker.class]", "spec.config"]
