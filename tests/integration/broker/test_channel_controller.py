"""Channels end to end without a cluster: the controller in-process against a real
kube-apiserver, the broker's ingress and dispatcher as real processes on a real nats-server
(test_ready_means_flowing.py's DataPlane stands in for their Pods). A generic Channel gets
its backing InMemoryChannel and Knative's address; two Subscriptions are written into it,
report their physical subscription, turn Ready once the data plane serves them, and both
get every event sent to the channel's address. A subscriber ref that does not exist yet
leaves its Subscription not Ready, naming it, until it appears."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from knpy.controller.eventing.resources import CHANNELS, IN_MEMORY_CHANNELS, SUBSCRIPTIONS
from knpy.runtime.k8s import SERVICES, Client
from tests.integration.broker.conftest import Nats, Sink, binary_headers, post
from tests.integration.broker.test_ready_means_flowing import ROLES, DataPlane, cond, ready
from tests.support.apiserver import controller_app, make_namespace
from tests.support.cluster import KubeAPI
from tests.support.poll import eventually

pytestmark = pytest.mark.timeout(180)
MSG = "messaging.knative.dev/v1"


@pytest.fixture
async def world(kube_messaging: KubeAPI, client: Client, nats: Nats, logdir: Path):
    ns = make_namespace(kube_messaging, "t")
    async with controller_app(kube_messaging, client) as (_app, system):
        dp = DataPlane(kube_messaging, client, system, nats, logdir)
        await dp.create()
        try:
            for role in ROLES:
                await asyncio.to_thread(dp.start, role)
            yield dp, ns
        finally:
            dp.stop_all()


def subscription(ns: str, name: str, subscriber: dict, channel_kind: str = "Channel",
                 channel: str = "events", **spec: object) -> dict:
    return {"apiVersion": MSG, "kind": "Subscription",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"channel": {"apiVersion": MSG, "kind": channel_kind, "name": channel},
                     "subscriber": subscriber, **spec}}


async def test_channel_with_two_subscriptions_both_get_every_event(
        world, client: Client, sink: Sink) -> None:
    dp, ns = world
    # as the webhook defaults it from default-ch-webhook
    await client.create(CHANNELS, {
        "apiVersion": MSG, "kind": "Channel", "metadata": {"name": "events", "namespace": ns},
        "spec": {"channelTemplate": {"apiVersion": MSG, "kind": "InMemoryChannel"}}})
    ch = await ready(client, CHANNELS, ns, "events")
    url = f"http://events-kn-channel.{ns}.svc.cluster.local"
    assert ch["status"]["address"]["url"] == url
    assert ch["status"]["channel"]["kind"] == "InMemoryChannel"
    imc = await client.get(IN_MEMORY_CHANNELS, ns, "events")
    assert imc["metadata"]["ownerReferences"][0]["kind"] == "Channel"
    svc = await client.get(SERVICES, ns, "events-kn-channel")
    assert svc["spec"]["type"] == "ExternalName" and svc["spec"]["externalName"] == "127.0.0.1"

    subs = {}
    for name in ("a", "b"):
        await client.create(SUBSCRIPTIONS, subscription(ns, name, {"uri": sink.url(f"/{name}")}))
        subs[name] = await ready(client, SUBSCRIPTIONS, ns, name)
        assert subs[name]["status"]["physicalSubscription"] == {
            "subscriberUri": sink.url(f"/{name}")}
    ch = await client.get(CHANNELS, ns, "events")
    uids = {s["metadata"]["uid"]: s["metadata"]["generation"] for s in subs.values()}
    assert {(s["uid"], s["observedGeneration"], s["ready"])
            for s in ch["status"]["subscribers"]} == {(u, g, "True") for u, g in uids.items()}
    assert {s["uid"] for s in ch["spec"]["subscribers"]} == set(uids)

    host = {"Host": url.removeprefix("http://")}
    async with aiohttp.ClientSession() as http:
        for i in range(10):
            status, body = await post(http, dp.url + "/", {**binary_headers(id_=f"e{i}"),
                                                           **host})
            assert status == 202, body
    for name in ("a", "b"):
        got = await sink.wait_for(f"/{name}", 10)
        assert sorted(r.headers["ce-id"] for r in got) == sorted(f"e{i}" for i in range(10))

    # a deleted Subscription leaves the channel's subscribers (its finalizer holds it)
    assert subs["a"]["metadata"]["finalizers"] == ["subscriptions.messaging.knative.dev"]
    await client.delete(SUBSCRIPTIONS, ns, "a")

    async def left() -> bool:
        c = await client.get(CHANNELS, ns, "events")
        gone = not [s for s in (await client.list(SUBSCRIPTIONS, ns))["items"]
                    if s["metadata"]["name"] == "a"]
        return gone and [s["uid"] for s in c["spec"].get("subscribers") or []] == [
            subs["b"]["metadata"]["uid"]]
    await eventually(left, 30, "subscription a removed from the channel, then deleted")


async def test_a_63_character_channel_gets_knatives_hashed_service_and_delivers(
        world, client: Client, sink: Sink) -> None:
    """rekt's channels have 63-character names: `<name>-kn-channel` is no DNS label, so
    the Service is named as Knative's kmeta.ChildName names it, and the ingress finds the
    channel by that Host."""
    dp, ns = world
    name = "c" * 63
    service = "ccccccccccccccccccccbc1cbc032f9b2a1fa2ae54f8576beb7e-kn-channel"
    await client.create(CHANNELS, {
        "apiVersion": MSG, "kind": "Channel", "metadata": {"name": name, "namespace": ns},
        "spec": {"channelTemplate": {"apiVersion": MSG, "kind": "InMemoryChannel"}}})
    ch = await ready(client, CHANNELS, ns, name)
    url = f"http://{service}.{ns}.svc.cluster.local"
    assert ch["status"]["address"]["url"] == url
    svc = await client.get(SERVICES, ns, service)
    assert svc["metadata"]["ownerReferences"][0]["name"] == name
    await client.create(SUBSCRIPTIONS, subscription(ns, "a", {"uri": sink.url("/a")},
                                                    channel=name))
    await ready(client, SUBSCRIPTIONS, ns, "a")
    async with aiohttp.ClientSession() as http:
        for i in range(3):
            status, body = await post(http, dp.url + "/", {
                **binary_headers(id_=f"e{i}"), "Host": url.removeprefix("http://")})
            assert status == 202, body
    got = await sink.wait_for("/a", 3)
    assert sorted(r.headers["ce-id"] for r in got) == ["e0", "e1", "e2"]


async def test_missing_subscriber_ref_names_it_and_recovers(
        world, client: Client, sink: Sink) -> None:
    _dp, ns = world
    await client.create(IN_MEMORY_CHANNELS, {
        "apiVersion": MSG, "kind": "InMemoryChannel",
        "metadata": {"name": "events", "namespace": ns}})
    await ready(client, IN_MEMORY_CHANNELS, ns, "events")
    ref = {"ref": {"apiVersion": "v1", "kind": "Service", "name": "later", "namespace": ns}}
    await client.create(SUBSCRIPTIONS, subscription(ns, "s", ref, "InMemoryChannel"))
    seen: dict = {}

    async def names_it() -> bool:
        seen.update(cond(await client.get(SUBSCRIPTIONS, ns, "s"), "ReferencesResolved"))
        return seen.get("status") == "False"
    await eventually(names_it, 30, "ReferencesResolved False", detail=lambda: str(seen))
    assert seen["reason"] == "SubscriberResolveFailed" and "'later'" in seen["message"]
    assert cond(await client.get(SUBSCRIPTIONS, ns, "s"), "Ready")["status"] == "False"

    await client.create(SERVICES, {"apiVersion": "v1", "kind": "Service",
                                   "metadata": {"name": "later", "namespace": ns},
                                   "spec": {"ports": [{"port": 80}]}})
    s = await ready(client, SUBSCRIPTIONS, ns, "s", within=60)
    assert s["status"]["physicalSubscription"]["subscriberUri"] == \
        f"http://later.{ns}.svc.cluster.local"


async def test_subscription_waits_for_its_channel_and_other_templates_are_refused(
        world, client: Client, sink: Sink) -> None:
    _dp, ns = world
    await client.create(SUBSCRIPTIONS, subscription(ns, "early", {"uri": sink.url("/e")}))
    seen: dict = {}

    async def waits() -> bool:
        seen.update(cond(await client.get(SUBSCRIPTIONS, ns, "early"), "ReferencesResolved"))
        return seen.get("reason") == "ChannelReferenceFailed"
    await eventually(waits, 30, "ChannelReferenceFailed", detail=lambda: str(seen))
    assert "'events'" in seen["message"]
    await client.create(CHANNELS, {
        "apiVersion": MSG, "kind": "Channel", "metadata": {"name": "events", "namespace": ns},
        "spec": {"channelTemplate": {"apiVersion": MSG, "kind": "InMemoryChannel"}}})
    await ready(client, SUBSCRIPTIONS, ns, "early", within=60)

    await client.create(CHANNELS, {
        "apiVersion": MSG, "kind": "Channel", "metadata": {"name": "kafka", "namespace": ns},
        "spec": {"channelTemplate": {"apiVersion": "messaging.knative.dev/v1beta1",
                                     "kind": "KafkaChannel"}}})
    backing: dict = {}

    async def refused() -> bool:
        backing.update(cond(await client.get(CHANNELS, ns, "kafka"), "BackingChannelReady"))
        return backing.get("status") == "False"
    await eventually(refused, 30, "BackingChannelReady False", detail=lambda: str(backing))
    assert backing["reason"] == "ChannelTemplateUnsupported"
