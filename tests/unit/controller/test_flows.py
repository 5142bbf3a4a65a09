"""Sequence and Parallel: the children Knative's flows own (names, wiring, owner refs)
and the reconcilers against an in-memory API server whose listers follow it (the informers'
role): children created, status propagated, drift corrected, removed steps deleted, a child
another owner controls refused."""

from __future__ import annotations

import copy

import pytest

from knpy.controller.eventing.resources import IN_MEMORY_CHANNELS, SUBSCRIPTIONS
from knpy.controller.flows.children import (
    parallel_children,
    sequence_children,
    unsupported_template,
)
from knpy.controller.flows.parallel import ParallelReconciler
from knpy.controller.flows.resources import PARALLEL_RESOURCE, SEQUENCE_RESOURCE
from knpy.controller.flows.sequence import SequenceReconciler
from knpy.runtime.k8s import Lister, MemoryRecorder, Resource
from knpy.runtime.k8s.ownerrefs import controlled_by_keys
from knpy.runtime.k8s.testing import FakeClient

FLOWS = "flows.knative.dev/v1"
MSG = "messaging.knative.dev/v1"
IMC = {"apiVersion": MSG, "kind": "InMemoryChannel"}


def seq(*steps: dict, reply: dict | None = None, name: str = "s", **spec) -> dict:
    o = {"apiVersion": FLOWS, "kind": "Sequence",
         "metadata": {"name": name, "namespace": "ns", "uid": "seq-uid", "generation": 1},
         "spec": {"channelTemplate": IMC, "steps": list(steps), **spec}}
    if reply:
        o["spec"]["reply"] = reply
    return o


def par(*branches: dict, reply: dict | None = None) -> dict:
    o = {"apiVersion": FLOWS, "kind": "Parallel",
         "metadata": {"name": "p", "namespace": "ns", "uid": "par-uid", "generation": 1},
         "spec": {"channelTemplate": IMC, "branches": list(branches)}}
    if reply:
        o["spec"]["reply"] = reply
    return o


def to(name: str) -> dict:
    return {"ref": {**IMC, "name": name, "namespace": "ns"}}


# ------------------------------------------------------------------ children
def test_sequence_steps_chain_through_channels_to_the_reply() -> None:
    kids = sequence_children(seq({"uri": "http://a/", "delivery": {"retry": 2}},
                                 {"ref": {"apiVersion": "v1", "kind": "Service", "name": "b"}},
                                 reply={"uri": "http://end/"}))
    assert [c["metadata"]["name"] for c in kids.channels] == ["s-kn-sequence-0",
                                                              "s-kn-sequence-1"]
    assert all(c["kind"] == "InMemoryChannel" and c["metadata"]["ownerReferences"] == [{
        "apiVersion": FLOWS, "kind": "Sequence", "name": "s", "uid": "seq-uid",
        "controller": True, "blockOwnerDeletion": True}] for c in kids.channels)
    s0, s1 = kids.subscriptions
    assert s0["metadata"]["name"] == "s-kn-sequence-0"
    assert s0["spec"] == {"channel": {**IMC, "name": "s-kn-sequence-0"},
                          "subscriber": {"uri": "http://a/"}, "reply": to("s-kn-sequence-1"),
                          "delivery": {"retry": 2}}
    # defaulted as the webhook would (ref namespaces), so there is no drift to fight
    assert s1["spec"] == {"channel": {**IMC, "name": "s-kn-sequence-1"},
                          "subscriber": {"ref": {"apiVersion": "v1", "kind": "Service",
                                                 "name": "b", "namespace": "ns"}},
                          "reply": {"uri": "http://end/"}}
    # without spec.reply the last step's replies go nowhere
    assert "reply" not in sequence_children(seq({"uri": "http://a/"})).subscriptions[0]["spec"]


def test_channels_take_the_template_spec() -> None:
    t = {**IMC, "spec": {"delivery": {"retry": 3}}}
    ch = sequence_children(seq({"uri": "http://a/"}, channelTemplate=t)).channels[0]
    assert ch["spec"] == {"delivery": {"retry": 3}}
    assert ch["metadata"]["annotations"] == {"messaging.knative.dev/subscribable": "v1"}


def test_parallel_branches_filter_from_the_ingress_into_their_channel() -> None:
    kids = parallel_children(par(
        {"filter": {"uri": "http://f0/"}, "subscriber": {"uri": "http://s0/"},
         "reply": {"uri": "http://r0/"}, "delivery": {"retry": 1}},
        {"subscriber": {"uri": "http://s1/"}}, reply={"uri": "http://r/"}))
    assert [c["metadata"]["name"] for c in kids.channels] == [
        "p-kn-parallel", "p-kn-parallel-0", "p-kn-parallel-1"]
    f0, f1 = kids.filter_subscriptions
    assert f0["metadata"]["name"] == "p-kn-parallel-filter-0"
    assert f0["spec"] == {"channel": {**IMC, "name": "p-kn-parallel"},
                          "subscriber": {"uri": "http://f0/"}, "reply": to("p-kn-parallel-0")}
    # no filter: the subscription only forwards, every event enters the branch (Knative's)
    assert f1["spec"] == {"channel": {**IMC, "name": "p-kn-parallel"},
                          "reply": to("p-kn-parallel-1")}
    s0, s1 = kids.subscriptions
    assert s0["metadata"]["name"] == "p-kn-parallel-0"
    assert s0["spec"] == {"channel": {**IMC, "name": "p-kn-parallel-0"},
                          "subscriber": {"uri": "http://s0/"}, "reply": {"uri": "http://r0/"},
                          "delivery": {"retry": 1}}
    assert s1["spec"]["reply"] == {"uri": "http://r/"}  # the Parallel's reply


def test_long_names_stay_dns_labels_and_distinct() -> None:
    name = "x" * 60
    kids = sequence_children(seq(*[{"uri": "http://a/"}] * 12, name=name))
    names = [c["metadata"]["name"] for c in kids.channels]
    assert len(set(names)) == 12 and all(len(n) <= 63 for n in names)
    assert names[11].endswith("-kn-sequence-11")


def test_only_in_memory_channels_back_flows() -> None:
    assert unsupported_template(IMC) is None
    why = unsupported_template({"apiVersion": "messaging.knative.dev/v1beta1",
                                "kind": "KafkaChannel"})
    assert why is not None and "KafkaChannel" in why


# ------------------------------------------------------------------ reconcilers
class Api:
    """FakeClient plus listers refreshed from it after each reconcile (the informers)."""

    KINDS = (SEQUENCE_RESOURCE, PARALLEL_RESOURCE, IN_MEMORY_CHANNELS, SUBSCRIPTIONS)

    def __init__(self, *objs: tuple[Resource, dict]) -> None:
        self.client = FakeClient()
        for res, o in objs:
            self.client.seed(res, o)
        self.listers = {r.plural: Lister(r) for r in self.KINDS}
        kw = {"channels": self.listers["inmemorychannels"],
              "subscriptions": self.listers["subscriptions"]}
        self.recs = {
            "sequences": SequenceReconciler(self.client, self.listers["sequences"],
                                            MemoryRecorder(), **kw),
            "parallels": ParallelReconciler(self.client, self.listers["parallels"],
                                            MemoryRecorder(), **kw)}
        self.sync()

    def sync(self) -> None:
        for r in self.KINDS:
            self.listers[r.plural].replace(copy.deepcopy(o) for (plural, _ns, _n), o
                                           in self.client.store.items() if plural == r.plural)

    async def reconcile(self, plural: str, key: str) -> None:
        self.client.actions.clear()
        await self.recs[plural].reconcile(key)
        self.sync()

    def get(self, res: Resource, name: str) -> dict:
        return self.client.store[(res.plural, "ns", name)]

    def names(self, res: Resource) -> list[str]:
        return sorted(n for (p, _ns, n) in self.client.store if p == res.plural)

    def set_ready(self, res: Resource, name: str, url: str | None = None) -> None:
        o = self.get(res, name)
        o["status"] = {"conditions": [{"type": "Ready", "status": "True"}]}
        if url:
            o["status"]["address"] = {"url": url}
        self.sync()


def conds(obj: dict) -> dict[str, str]:
    return {c["type"]: c["status"] for c in obj["status"]["conditions"]}


async def test_sequence_creates_its_children_and_turns_ready_with_them() -> None:
    api = Api((SEQUENCE_RESOURCE, seq({"uri": "http://a/"}, {"uri": "http://b/"})))
    await api.reconcile("sequences", "ns/s")
    assert api.names(IN_MEMORY_CHANNELS) == ["s-kn-sequence-0", "s-kn-sequence-1"]
    assert api.names(SUBSCRIPTIONS) == ["s-kn-sequence-0", "s-kn-sequence-1"]
    s = api.get(SEQUENCE_RESOURCE, "s")
    assert conds(s)["Ready"] == "Unknown" and conds(s)["ChannelsReady"] == "Unknown"
    for i in range(2):
        api.set_ready(IN_MEMORY_CHANNELS, f"s-kn-sequence-{i}", f"http://c{i}/")
        api.set_ready(SUBSCRIPTIONS, f"s-kn-sequence-{i}")
    await api.reconcile("sequences", "ns/s")
    s = api.get(SEQUENCE_RESOURCE, "s")
    assert conds(s) == {"Ready": "True", "ChannelsReady": "True", "SubscriptionsReady": "True",
                        "Addressable": "True"}
    assert s["status"]["address"] == {"url": "http://c0/"}
    assert s["status"]["observedGeneration"] == 1
    # level-triggered: nothing more to write
    await api.reconcile("sequences", "ns/s")
    assert api.client.writes() == []


async def test_sequence_corrects_drift_and_deletes_removed_steps() -> None:
    api = Api((SEQUENCE_RESOURCE, seq({"uri": "http://a/"}, {"uri": "http://b/"},
                                      {"uri": "http://c/"})))
    await api.reconcile("sequences", "ns/s")
    # someone edits a child Subscription and a child channel (which also has subscribers)
    api.get(SUBSCRIPTIONS, "s-kn-sequence-1")["spec"]["subscriber"] = {"uri": "http://evil/"}
    ch = api.get(IN_MEMORY_CHANNELS, "s-kn-sequence-0")
    ch["spec"] = {"delivery": {"retry": 9}, "subscribers": [{"uid": "u", "subscriberUri": "x"}]}
    api.sync()
    await api.reconcile("sequences", "ns/s")
    assert api.get(SUBSCRIPTIONS, "s-kn-sequence-1")["spec"]["subscriber"] == {
        "uri": "http://b/"}
    assert api.get(IN_MEMORY_CHANNELS, "s-kn-sequence-0")["spec"] == {
        "subscribers": [{"uid": "u", "subscriberUri": "x"}]}
    # the steps shrink to two with a reply: step 2 goes, step 1 now replies to spec.reply
    s = api.get(SEQUENCE_RESOURCE, "s")
    s["spec"]["steps"] = s["spec"]["steps"][:2]
    s["spec"]["reply"] = {"uri": "http://end/"}
    api.sync()
    await api.reconcile("sequences", "ns/s")
    assert api.names(IN_MEMORY_CHANNELS) == ["s-kn-sequence-0", "s-kn-sequence-1"]
    assert api.names(SUBSCRIPTIONS) == ["s-kn-sequence-0", "s-kn-sequence-1"]
    assert api.get(SUBSCRIPTIONS, "s-kn-sequence-1")["spec"]["reply"] == {"uri": "http://end/"}
    assert [len(api.get(SEQUENCE_RESOURCE, "s")["status"][k])
            for k in ("channelStatuses", "subscriptionStatuses")] == [2, 2]


async def test_a_subscription_whose_channel_must_change_is_recreated() -> None:
    api = Api((SEQUENCE_RESOURCE, seq({"uri": "http://a/"})))
    await api.reconcile("sequences", "ns/s")
    api.get(SUBSCRIPTIONS, "s-kn-sequence-0")["spec"]["channel"]["name"] = "elsewhere"
    api.sync()
    await api.reconcile("sequences", "ns/s")
    assert [a.verb for a in api.client.writes()] == ["delete", "update_status"]
    await api.reconcile("sequences", "ns/s")  # its delete event re-queues the Sequence
    assert api.get(SUBSCRIPTIONS, "s-kn-sequence-0")["spec"]["channel"]["name"] == \
        "s-kn-sequence-0"


@pytest.mark.parametrize("res", [IN_MEMORY_CHANNELS, SUBSCRIPTIONS])
async def test_a_child_someone_else_controls_is_refused(res: Resource) -> None:
    other = {"apiVersion": MSG, "kind": res.kind,
             "metadata": {"name": "s-kn-sequence-0", "namespace": "ns", "ownerReferences": [
                 {"apiVersion": "v1", "kind": "ConfigMap", "name": "x", "uid": "other",
                  "controller": True}]},
             "spec": {"channel": {**IMC, "name": "mine"}} if res is SUBSCRIPTIONS else {}}
    api = Api((SEQUENCE_RESOURCE, seq({"uri": "http://a/"})), (res, other))
    await api.reconcile("sequences", "ns/s")
    c = {x["type"]: x for x in api.get(SEQUENCE_RESOURCE, "s")["status"]["conditions"]}
    failed = c["SubscriptionsReady" if res is SUBSCRIPTIONS else "ChannelsReady"]
    assert (failed["status"], failed["reason"]) == ("False", "NotOwned")
    assert c["Ready"]["status"] == "False"
    assert api.get(res, "s-kn-sequence-0")["metadata"]["ownerReferences"][0]["uid"] == "other"


async def test_an_unsupported_channel_template_is_reported() -> None:
    api = Api((SEQUENCE_RESOURCE, seq({"uri": "http://a/"}, channelTemplate={
        "apiVersion": "messaging.knative.dev/v1beta1", "kind": "KafkaChannel"})))
    await api.reconcile("sequences", "ns/s")
    c = {x["type"]: x for x in api.get(SEQUENCE_RESOURCE, "s")["status"]["conditions"]}
    assert c["ChannelsReady"]["reason"] == "ChannelTemplateUnsupported"
    assert api.names(IN_MEMORY_CHANNELS) == []


async def test_parallel_creates_its_children_and_drops_removed_branches() -> None:
    api = Api((PARALLEL_RESOURCE, par({"filter": {"uri": "http://f/"},
                                       "subscriber": {"uri": "http://a/"}},
                                      {"subscriber": {"uri": "http://b/"}})))
    await api.reconcile("parallels", "ns/p")
    assert api.names(IN_MEMORY_CHANNELS) == ["p-kn-parallel", "p-kn-parallel-0",
                                             "p-kn-parallel-1"]
    assert api.names(SUBSCRIPTIONS) == ["p-kn-parallel-0", "p-kn-parallel-1",
                                        "p-kn-parallel-filter-0", "p-kn-parallel-filter-1"]
    for n in api.names(IN_MEMORY_CHANNELS):
        api.set_ready(IN_MEMORY_CHANNELS, n, f"http://{n}/")
    for n in api.names(SUBSCRIPTIONS):
        api.set_ready(SUBSCRIPTIONS, n)
    await api.reconcile("parallels", "ns/p")
    p = api.get(PARALLEL_RESOURCE, "p")
    assert conds(p)["Ready"] == "True"
    assert p["status"]["address"] == {"url": "http://p-kn-parallel/"}
    assert len(p["status"]["branchStatuses"]) == 2
    p["spec"]["branches"] = p["spec"]["branches"][:1]
    api.sync()
    await api.reconcile("parallels", "ns/p")
    assert api.names(IN_MEMORY_CHANNELS) == ["p-kn-parallel", "p-kn-parallel-0"]
    assert api.names(SUBSCRIPTIONS) == ["p-kn-parallel-0", "p-kn-parallel-filter-0"]


def test_a_child_change_requeues_the_flow_that_controls_it() -> None:
    ch = sequence_children(seq({"uri": "http://a/"})).channels[0]
    assert controlled_by_keys(SEQUENCE_RESOURCE)(ch) == ["ns/s"]
    assert controlled_by_keys(PARALLEL_RESOURCE)(ch) == []
