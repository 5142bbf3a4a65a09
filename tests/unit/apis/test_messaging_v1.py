"""messaging.knative.dev/v1 types: validation with field paths, defaults (default-ch-webhook),
status transitions."""

from __future__ import annotations

import pytest

from knpy.apis.flows import v1 as flows
from knpy.apis.messaging import v1
from knpy.runtime.config import FieldError

MSG = "messaging.knative.dev/v1"


def sub(**spec) -> dict:
    return {"apiVersion": MSG, "kind": "Subscription",
            "metadata": {"name": "s", "namespace": "ns", "uid": "u1", "generation": 2},
            "spec": {"channel": {"apiVersion": MSG, "kind": "Channel", "name": "ch"}, **spec}}


def chan(kind: str = "Channel", **spec) -> dict:
    return {"apiVersion": MSG, "kind": kind, "metadata": {"name": "ch", "namespace": "ns"},
            "spec": spec}


def paths(err: FieldError) -> str:
    return str(err)


def test_subscription_needs_a_subscriber_or_a_reply() -> None:
    text = paths(v1.validate_subscription(sub()))
    assert "spec.reply" in text and "spec.subscriber" in text
    assert not v1.validate_subscription(sub(reply={"uri": "http://r/"}))
    assert not v1.validate_subscription(sub(subscriber={"uri": "http://s/"}))


def test_subscription_errors_name_their_fields() -> None:
    s = sub(subscriber={"uri": "/relative"},
            reply={"ref": {"apiVersion": "v1", "kind": "Service"}},
            delivery={"retry": -1, "backoffDelay": "2s",
                      "deadLetterSink": {"ref": {"apiVersion": "v1", "kind": "Service",
                                                 "name": "d", "namespace": "other"}}})
    s["spec"]["channel"] = {"kind": "Channel", "name": "ch", "namespace": "elsewhere"}
    text = paths(v1.validate_subscription(s))
    for p in ("spec.subscriber.uri", "spec.reply.ref.name", "spec.delivery.retry",
              "spec.delivery.backoffDelay", "spec.delivery.deadLetterSink.ref.namespace",
              "spec.channel.apiVersion", "spec.channel.namespace"):
        assert p in text, (p, text)
    assert "spec.channel" in paths(v1.validate_subscription({"metadata": {}, "spec": {
        "subscriber": {"uri": "http://s/"}}}))


def test_subscription_channel_is_immutable() -> None:
    old = sub(subscriber={"uri": "http://s/"})
    new = sub(subscriber={"uri": "http://other/"})
    assert not v1.validate_subscription_update(old, new)
    new["spec"]["channel"]["name"] = "ch2"
    assert "Immutable fields changed (-old +new): spec.channel\nname:\n\t-: " in paths(
        v1.validate_subscription_update(old, new))


def test_channel_defaults_from_default_ch_webhook() -> None:
    d = v1.parse_channel_defaults({"default-ch-config": """
clusterDefault: {apiVersion: messaging.knative.dev/v1, kind: InMemoryChannel}
namespaceDefaults:
  special:
    apiVersion: messaging.knative.dev/v1
    kind: InMemoryChannel
    spec: {delivery: {retry: 3}}
"""})
    out = v1.set_channel_defaults(chan(), d)
    assert out["spec"]["channelTemplate"] == {"apiVersion": MSG, "kind": "InMemoryChannel"}
    special = chan()
    special["metadata"]["namespace"] = "special"
    assert v1.set_channel_defaults(special, d)["spec"]["channelTemplate"]["spec"] == {
        "delivery": {"retry": 3}}
    # a template set by the user is kept; with no ConfigMap the default is InMemoryChannel
    own = chan(channelTemplate={"apiVersion": "x/v1", "kind": "KafkaChannel"})
    assert v1.set_channel_defaults(own)["spec"]["channelTemplate"]["kind"] == "KafkaChannel"
    assert v1.set_channel_defaults(chan())["spec"]["channelTemplate"]["kind"] == \
        "InMemoryChannel"


def test_bad_default_ch_config_names_the_field() -> None:
    with pytest.raises(FieldError) as e:
        v1.parse_channel_defaults({"default-ch-config": """
clusterDefault: {kind: InMemoryChannel}
namespaceDefaults: {a: {apiVersion: x/v1, kind: K, extra: 1}}
"""})
    text = str(e.value)
    assert "default-ch-config.clusterDefault.apiVersion" in text
    assert "default-ch-config.namespaceDefaults[a].extra" in text


def test_channel_validation_and_template_immutability() -> None:
    assert "spec.channelTemplate" in paths(v1.validate_channel(chan()))
    good = v1.set_channel_defaults(chan())
    assert not v1.validate_channel(good)
    changed = v1.set_channel_defaults(chan(channelTemplate={"apiVersion": "x/v1",
                                                             "kind": "Other"}))
    assert "Immutable fields changed (-old +new): spec.channelTemplate\n" in paths(
        v1.validate_channel_update(good, changed))
    bad = chan("InMemoryChannel", delivery={"backoffPolicy": "random"},
               subscribers=[{"uid": "a", "subscriberUri": "http://s/"}, {"uid": "a"},
                            {"subscriberUri": "http://s/", "delivery": {"retry": "x"}}])
    text = paths(v1.validate_in_memory_channel(bad))
    for p in ("spec.delivery.backoffPolicy", "spec.subscribers[1].replyUri",
              "spec.subscribers[1].uid", "spec.subscribers[2].uid",
              "spec.subscribers[2].delivery.retry"):
        assert p in text, (p, text)


def test_in_memory_channel_defaults_and_ref_namespaces() -> None:
    imc = v1.set_in_memory_channel_defaults(chan("InMemoryChannel", delivery={
        "deadLetterSink": {"ref": {"apiVersion": "v1", "kind": "Service", "name": "d"}}}))
    assert imc["metadata"]["annotations"]["messaging.knative.dev/subscribable"] == "v1"
    assert imc["spec"]["delivery"]["deadLetterSink"]["ref"]["namespace"] == "ns"
    s = v1.set_subscription_defaults(sub(subscriber={"ref": {"apiVersion": "v1",
                                                             "kind": "Service", "name": "x"}},
                                         reply={"ref": {"apiVersion": "v1", "kind": "Service",
                                                        "name": "y", "namespace": "ns"}}))
    assert s["spec"]["subscriber"]["ref"]["namespace"] == "ns"


def test_conditions_are_knatives() -> None:
    s = v1.Subscription(sub())
    s.init_conditions()
    assert {c["type"] for c in s.status.conditions.conditions} == {
        "Ready", "ReferencesResolved", "AddedToChannel", "ChannelReady"}
    c = v1.Channel(chan())
    c.init_conditions()
    assert {x["type"] for x in c.status.conditions.conditions} == {
        "Ready", "BackingChannelReady", "Addressable", "DeadLetterSinkResolved"}
    imc = v1.InMemoryChannel(chan("InMemoryChannel"))
    imc.init_conditions()
    assert {x["type"] for x in imc.status.conditions.conditions} >= {
        "Ready", "DispatcherReady", "ServiceReady", "EndpointsReady", "Addressable",
        "ChannelServiceReady", "DeadLetterSinkResolved"}


@pytest.mark.parametrize(("spec", "want"), [(None, "missing field(s): spec"),
                                            ([], "invalid value: []: spec\nwant an object")])
def test_a_subscription_or_flow_without_an_object_spec_says_so(spec, want: str) -> None:
    for validate, kind in ((v1.validate_subscription, "Subscription"),
                           (flows.validate_sequence, "Sequence"),
                           (flows.validate_parallel, "Parallel")):
        raw = {"apiVersion": MSG, "kind": kind, "metadata": {"name": "x", "namespace": "ns"}}
        if spec is not None:
            raw["spec"] = spec
        assert want in str(validate(raw)), kind
