"""Sequence and Parallel against a real kube-apiserver: the controller in-process, the
broker's ingress and dispatcher as real processes on a real nats-server standing in for
their Pods (test_ready_means_flowing.py's DataPlane), as in test_channel_controller.py.
A flow creates its channels and Subscriptions (owned by it), turns Ready once the data
plane serves every one, reports Knative's status and address, follows edits of its steps
(new children, changed replies, removed children deleted), resolves as a subscriber, and
names a step that does not exist yet until it appears."""

from __future__ import annotations

import aiohttp
import pytest

from knpy.controller.eventing.resources import IN_MEMORY_CHANNELS, SUBSCRIPTIONS
from knpy.controller.flows.resources import PARALLEL_RESOURCE, SEQUENCE_RESOURCE
from knpy.runtime.k8s import SERVICES, Client
from tests.integration.broker.conftest import Sink, binary_headers, post
from tests.integration.broker.test_channel_controller import world  # noqa: F401
from tests.integration.broker.test_ready_means_flowing import cond, ready
from tests.support.apiserver import edit
from tests.support.cluster import KubeAPI
from tests.support.poll import eventually

pytestmark = pytest.mark.timeout(120)
FLOWS = "flows.knative.dev/v1"
MSG = "messaging.knative.dev/v1"
IMC = {"apiVersion": MSG, "kind": "InMemoryChannel"}


def names(objs: dict) -> list[str]:
    return sorted(o["metadata"]["name"] for o in objs["items"])


async def owned_by(client: Client, ns: str, uid: str) -> tuple[list[str], list[str]]:
    """The names of the live channels and Subscriptions the flow `uid` controls."""
    out = []
    for res in (IN_MEMORY_CHANNELS, SUBSCRIPTIONS):
        items = (await client.list(res, ns))["items"]
        out.append(sorted(o["metadata"]["name"] for o in items
                          if not o["metadata"].get("deletionTimestamp")
                          and [r["uid"] for r in o["metadata"].get("ownerReferences") or []
                               if r.get("controller")] == [uid]))
    return out[0], out[1]


async def test_sequence_children_ready_and_step_edits(
        kube_flows: KubeAPI, world, client: Client, sink: Sink) -> None:  # noqa: F811
    dp, ns = world
    steps = [{"uri": sink.url("/a")}, {"uri": sink.url("/b")}]
    await client.create(SEQUENCE_RESOURCE, {
        "apiVersion": FLOWS, "kind": "Sequence", "metadata": {"name": "s", "namespace": ns},
        # as the webhook defaults it from default-ch-webhook
        "spec": {"channelTemplate": IMC, "steps": steps, "reply": {"uri": sink.url("/end")}}})
    s = await ready(client, SEQUENCE_RESOURCE, ns, "s", within=45)
    uid = s["metadata"]["uid"]
    assert await owned_by(client, ns, uid) == (["s-kn-sequence-0", "s-kn-sequence-1"],
                                               ["s-kn-sequence-0", "s-kn-sequence-1"])
    url = f"http://s-kn-sequence-0-kn-channel.{ns}.svc.cluster.local"
    st = s["status"]
    assert st["address"] == {"url": url}
    assert {c["type"]: c["status"] for c in st["conditions"]} == {
        "Ready": "True", "ChannelsReady": "True", "SubscriptionsReady": "True",
        "Addressable": "True"}
    assert [c["channel"]["name"] for c in st["channelStatuses"]] == [
        "s-kn-sequence-0", "s-kn-sequence-1"]
    assert {c["ready"]["status"] for c in st["channelStatuses"] + st["subscriptionStatuses"]
            } == {"True"}
    sub0 = await client.get(SUBSCRIPTIONS, ns, "s-kn-sequence-0")
    assert sub0["status"]["physicalSubscription"] == {
        "subscriberUri": sink.url("/a"),
        "replyUri": f"http://s-kn-sequence-1-kn-channel.{ns}.svc.cluster.local"}
    sub1 = await client.get(SUBSCRIPTIONS, ns, "s-kn-sequence-1")
    assert sub1["status"]["physicalSubscription"]["replyUri"] == sink.url("/end")

    # Ready means served: an event sent to the Sequence's address now reaches step 1
    async with aiohttp.ClientSession() as http:
        status, body = await post(http, dp.url + "/", {
            **binary_headers(id_="first"), "Host": url.removeprefix("http://")})
        assert status == 202, body
    assert [r.headers["ce-id"] for r in await sink.wait_for("/a", 1)] == ["first"]

    # a third step: a new channel and Subscription; step 2 now replies into it
    def three(o: dict) -> None:
        o["spec"]["steps"] = [*steps, {"uri": sink.url("/c")}]
    await edit(client, SEQUENCE_RESOURCE, ns, "s", three)

    async def grown() -> bool:
        p = (await client.get(SUBSCRIPTIONS, ns, "s-kn-sequence-1"))["status"].get(
            "physicalSubscription") or {}
        return p.get("replyUri") == f"http://s-kn-sequence-2-kn-channel.{ns}.svc.cluster.local"
    await eventually(grown, 30, "step 2 replies into channel 3")
    s = await ready(client, SEQUENCE_RESOURCE, ns, "s", within=30)
    assert len(s["status"]["subscriptionStatuses"]) == 3
    assert await owned_by(client, ns, uid) == (
        [f"s-kn-sequence-{i}" for i in range(3)], [f"s-kn-sequence-{i}" for i in range(3)])

    # back to one step: the others are deleted, step 1 replies to spec.reply
    def one(o: dict) -> None:
        o["spec"]["steps"] = steps[:1]
    await edit(client, SEQUENCE_RESOURCE, ns, "s", one)

    async def shrunk() -> bool:
        return await owned_by(client, ns, uid) == (["s-kn-sequence-0"], ["s-kn-sequence-0"])
    await eventually(shrunk, 30, "children of removed steps deleted")

    async def replies_to_end() -> bool:
        s = await client.get(SEQUENCE_RESOURCE, ns, "s")
        p = (await client.get(SUBSCRIPTIONS, ns, "s-kn-sequence-0"))["status"].get(
            "physicalSubscription") or {}
        return p.get("replyUri") == sink.url("/end") and \
            cond(s, "Ready").get("status") == "True" and \
            len(s["status"]["channelStatuses"]) == 1
    await eventually(replies_to_end, 30, "step 1 replies to spec.reply, Ready")

    # drift: a child Subscription edited by hand is put back
    def tamper(o: dict) -> None:
        o["spec"]["subscriber"] = {"uri": sink.url("/evil")}
    await edit(client, SUBSCRIPTIONS, ns, "s-kn-sequence-0", tamper)

    async def restored() -> bool:
        o = await client.get(SUBSCRIPTIONS, ns, "s-kn-sequence-0")
        return o["spec"]["subscriber"] == {"uri": sink.url("/a")}
    await eventually(restored, 30, "child Subscription restored")


async def test_parallel_ready_and_a_sequence_resolves_as_a_subscriber(
        kube_flows: KubeAPI, world, client: Client, sink: Sink) -> None:  # noqa: F811
    _dp, ns = world
    await client.create(PARALLEL_RESOURCE, {
        "apiVersion": FLOWS, "kind": "Parallel", "metadata": {"name": "p", "namespace": ns},
        "spec": {"channelTemplate": IMC, "reply": {"uri": sink.url("/r")}, "branches": [
            {"filter": {"uri": sink.url("/f")}, "subscriber": {"uri": sink.url("/a")}},
            {"subscriber": {"uri": sink.url("/b")}}]}})
    p = await ready(client, PARALLEL_RESOURCE, ns, "p", within=45)
    st = p["status"]
    assert st["address"] == {"url": f"http://p-kn-parallel-kn-channel.{ns}.svc.cluster.local"}
    assert st["ingressChannelStatus"]["channel"]["name"] == "p-kn-parallel"
    assert [(b["filterChannelStatus"]["channel"]["name"],
             b["filterSubscriptionStatus"]["subscription"]["name"],
             b["subscriberSubscriptionStatus"]["subscription"]["name"])
            for b in st["branchStatuses"]] == [
        ("p-kn-parallel-0", "p-kn-parallel-filter-0", "p-kn-parallel-0"),
        ("p-kn-parallel-1", "p-kn-parallel-filter-1", "p-kn-parallel-1")]
    f1 = await client.get(SUBSCRIPTIONS, ns, "p-kn-parallel-filter-1")
    # a branch without a filter forwards every event into its channel
    assert f1["status"]["physicalSubscription"] == {
        "replyUri": f"http://p-kn-parallel-1-kn-channel.{ns}.svc.cluster.local"}
    b1 = await client.get(SUBSCRIPTIONS, ns, "p-kn-parallel-1")
    assert b1["status"]["physicalSubscription"]["replyUri"] == sink.url("/r")

    # a Sequence is Addressable: a Subscription's subscriber may be one
    await client.create(SEQUENCE_RESOURCE, {
        "apiVersion": FLOWS, "kind": "Sequence", "metadata": {"name": "q", "namespace": ns},
        "spec": {"channelTemplate": IMC, "steps": [{"uri": sink.url("/q")}]}})
    await client.create(IN_MEMORY_CHANNELS, {"apiVersion": MSG, "kind": "InMemoryChannel",
                                             "metadata": {"name": "in", "namespace": ns}})
    await client.create(SUBSCRIPTIONS, {
        "apiVersion": MSG, "kind": "Subscription", "metadata": {"name": "to-q", "namespace": ns},
        "spec": {"channel": {**IMC, "name": "in"},
                 "subscriber": {"ref": {"apiVersion": FLOWS, "kind": "Sequence", "name": "q",
                                        "namespace": ns}}}})
    sub = await ready(client, SUBSCRIPTIONS, ns, "to-q", within=45)
    assert sub["status"]["physicalSubscription"]["subscriberUri"] == \
        f"http://q-kn-sequence-0-kn-channel.{ns}.svc.cluster.local"


async def test_a_step_that_does_not_exist_yet_is_named_and_recovers(
        kube_flows: KubeAPI, world, client: Client, sink: Sink) -> None:  # noqa: F811
    _dp, ns = world
    await client.create(SEQUENCE_RESOURCE, {
        "apiVersion": FLOWS, "kind": "Sequence", "metadata": {"name": "s", "namespace": ns},
        "spec": {"channelTemplate": IMC, "steps": [
            {"uri": sink.url("/a")},
            {"ref": {"apiVersion": "v1", "kind": "Service", "name": "later",
                     "namespace": ns}}]}})
    seen: dict = {}

    async def names_it() -> bool:
        s = await client.get(SEQUENCE_RESOURCE, ns, "s")
        subs = (s.get("status") or {}).get("subscriptionStatuses") or []
        seen.update(s=cond(s, "SubscriptionsReady"),
                    step=subs[1]["ready"] if len(subs) == 2 else {})
        return "'later'" in seen["step"].get("message", "")
    await eventually(names_it, 30, "step 2's Subscription names the missing Service",
                     detail=lambda: str(seen))
    assert seen["step"]["status"] == "False"
    assert seen["s"]["status"] == "Unknown" and seen["s"]["reason"] == "SubscriptionsNotReady"
    await client.create(SERVICES, {"apiVersion": "v1", "kind": "Service",
                                   "metadata": {"name": "later", "namespace": ns},
                                   "spec": {"ports": [{"port": 80}]}})
    await ready(client, SEQUENCE_RESOURCE, ns, "s", within=45)
