"""flows.knative.dev/v1 types: defaults (channelTemplate from default-ch-webhook, ref
namespaces), validation with field paths, status as Knative reports it."""

from __future__ import annotations

from knpy.apis.flows import v1
from knpy.apis.messaging.v1 import ChannelDefaults

FLOWS = "flows.knative.dev/v1"
MSG = "messaging.knative.dev/v1"
IMC = {"apiVersion": MSG, "kind": "InMemoryChannel"}
SVC = {"apiVersion": "v1", "kind": "Service"}


def seq(**spec) -> dict:
    return {"apiVersion": FLOWS, "kind": "Sequence",
            "metadata": {"name": "s", "namespace": "ns"}, "spec": spec}


def par(**spec) -> dict:
    return {"apiVersion": FLOWS, "kind": "Parallel",
            "metadata": {"name": "p", "namespace": "ns"}, "spec": spec}


def test_channel_template_defaults_from_default_ch_webhook() -> None:
    d = ChannelDefaults(namespace_defaults={"ns": {**IMC, "spec": {"delivery": {"retry": 3}}}})
    got = v1.set_sequence_defaults(seq(steps=[{"uri": "http://a/"}]), d)
    assert got["spec"]["channelTemplate"] == {**IMC, "spec": {"delivery": {"retry": 3}}}
    # no entry for the namespace: the cluster default (the InMemoryChannel)
    other = par(branches=[{"subscriber": {"uri": "http://a/"}}])
    other["metadata"]["namespace"] = "elsewhere"
    assert v1.set_parallel_defaults(other, d)["spec"]["channelTemplate"] == IMC
    # a template the user gave is kept
    mine = {"apiVersion": "messaging.knative.dev/v1beta1", "kind": "KafkaChannel"}
    assert v1.set_sequence_defaults(seq(channelTemplate=mine), d)["spec"][
        "channelTemplate"] == mine


def test_refs_default_to_the_object_namespace() -> None:
    ref = {**SVC, "name": "x"}
    s = v1.set_sequence_defaults(seq(
        steps=[{"ref": dict(ref), "delivery": {"deadLetterSink": {"ref": dict(ref)}}}],
        reply={"ref": dict(ref)}))
    step = s["spec"]["steps"][0]
    assert step["ref"]["namespace"] == "ns"
    assert step["delivery"]["deadLetterSink"]["ref"]["namespace"] == "ns"
    assert s["spec"]["reply"]["ref"]["namespace"] == "ns"
    p = v1.set_parallel_defaults(par(branches=[{
        "filter": {"ref": dict(ref)}, "subscriber": {"ref": dict(ref)},
        "reply": {"ref": dict(ref)}, "delivery": {"deadLetterSink": {"ref": dict(ref)}}}]))
    b = p["spec"]["branches"][0]
    assert {b[k]["ref"]["namespace"] for k in ("filter", "subscriber", "reply")} == {"ns"}
    assert b["delivery"]["deadLetterSink"]["ref"]["namespace"] == "ns"


def test_sequence_needs_a_step_and_a_channel_template() -> None:
    err = v1.validate_sequence(seq(steps=[]))
    assert err.messages() == ["missing field(s): spec.channelTemplate",
                              "must have at least one step: spec.steps"]
    assert v1.validate_sequence(seq(channelTemplate=IMC)).paths == ["spec.steps"]
    assert not v1.validate_sequence(seq(channelTemplate=IMC, steps=[{"uri": "http://a/"}]))


def test_sequence_errors_name_their_fields() -> None:
    err = v1.validate_sequence(seq(
        channelTemplate={"apiVersion": MSG},
        steps=[{"uri": "http://a/", "delivery": {"retry": -1}},
               {},
               {"ref": {**SVC, "name": "x", "namespace": "other"}}],
        reply={"uri": "/relative"}))
    assert err.paths == ["spec.channelTemplate.kind", "spec.reply.uri",
                         "spec.steps[0].delivery.retry", "spec.steps[1].ref",
                         "spec.steps[1].uri", "spec.steps[2].ref.namespace"]


def test_parallel_branches_need_a_subscriber() -> None:
    assert v1.validate_parallel(par(channelTemplate=IMC)).messages() == [
        "must have at least one branch: spec.branches"]
    err = v1.validate_parallel(par(channelTemplate=IMC, branches=[
        {"filter": {"uri": "http://f/"}},
        {"subscriber": {"uri": "http://s/"}, "filter": {"ref": {**SVC}},
         "reply": {"uri": "nope"}, "delivery": {"backoffPolicy": "never"}}]))
    assert err.paths == ["spec.branches[0].subscriber", "spec.branches[1].delivery.backoffPolicy",
                         "spec.branches[1].filter.ref.name", "spec.branches[1].reply.uri"]
    assert not v1.validate_parallel(par(channelTemplate=IMC, branches=[
        {"subscriber": {"uri": "http://s/"}}]))


def ready(url: str | None = None, status: str = "True", kind: str = "InMemoryChannel",
          name: str = "c") -> dict:
    o = {"apiVersion": MSG, "kind": kind, "metadata": {"name": name, "namespace": "ns"},
         "status": {"conditions": [{"type": "Ready", "status": status}]}}
    if url:
        o["status"]["address"] = {"url": url}
    return o


def conds(obj: dict) -> dict[str, str]:
    return {c["type"]: c["status"] for c in obj["status"]["conditions"]}


def test_sequence_status_follows_its_children() -> None:
    s = v1.Sequence(seq())
    s.init_conditions()
    c0, c1 = ready("http://c0/", name="c0"), ready("http://c1/", name="c1")
    s0, s1 = ready(kind="Subscription", name="c0"), ready(kind="Subscription", name="c1")
    s.status.propagate([(c0, c0), (c1, c1)], [(s0, s0), (s1, s1)])
    assert conds(s.raw) == {"Ready": "True", "ChannelsReady": "True",
                            "SubscriptionsReady": "True", "Addressable": "True"}
    assert s.raw["status"]["address"] == {"url": "http://c0/"}
    assert s.raw["status"]["channelStatuses"][1] == {
        "channel": {"apiVersion": MSG, "kind": "InMemoryChannel", "name": "c1",
                    "namespace": "ns"},
        "ready": {"type": "Ready", "status": "True"}}
    assert s.raw["status"]["subscriptionStatuses"][0]["subscription"]["kind"] == "Subscription"
    # a Subscription not created yet: Unknown, as Knative's Sequence reports it
    s.status.propagate([(c0, c0), (c1, c1)], [(s0, s0), (s1, None)])
    assert conds(s.raw)["SubscriptionsReady"] == "Unknown"
    assert conds(s.raw)["Ready"] == "Unknown"
    assert s.raw["status"]["subscriptionStatuses"][1]["ready"]["reason"] == "NoReady"
    # no address on the first channel yet
    s.status.propagate([(c0, ready(name="c0")), (c1, c1)], [(s0, s0), (s1, s1)])
    assert "address" not in s.raw["status"] and conds(s.raw)["Addressable"] == "Unknown"


def test_parallel_status_follows_its_children() -> None:
    p = v1.Parallel(par())
    p.init_conditions()
    ing, ch = ready("http://in/", name="in"), ready("http://b0/", name="b0")
    f, s = ready(kind="Subscription", name="f0"), ready(kind="Subscription", name="s0")
    p.status.propagate((ing, ing), [(ch, ch)], [(f, f)], [(s, s)])
    assert conds(p.raw) == {"Ready": "True", "ChannelsReady": "True",
                            "SubscriptionsReady": "True", "Addressable": "True"}
    st = p.raw["status"]
    assert st["address"] == {"url": "http://in/"}
    assert st["ingressChannelStatus"]["channel"]["name"] == "in"
    assert [set(b) for b in st["branchStatuses"]] == [
        {"filterChannelStatus", "filterSubscriptionStatus", "subscriberSubscriptionStatus"}]
    assert st["branchStatuses"][0]["filterSubscriptionStatus"]["subscription"]["name"] == "f0"
    # Knative's Parallel reports a child not ready as False
    p.status.propagate((ing, ing), [(ch, ready("http://b0/", "Unknown", name="b0"))],
                       [(f, f)], [(s, s)])
    assert conds(p.raw)["ChannelsReady"] == "False" and conds(p.raw)["Ready"] == "False"
