"""Broker/Trigger reconciled end to end against a real API server: CRDs installed from the
chart, status written through /status, the contract ConfigMap the broker pods mount."""

from __future__ import annotations

import json

import pytest

from knpy.controller.eventing.contract import CONTRACT_KEY
from knpy.controller.eventing.resources import BROKERS, TRIGGERS
from knpy.runtime.contract import eventing as contract_schema
from knpy.runtime.k8s import CONFIGMAPS, SERVICES, ApiError, Client, Resource
from tests.support.apiserver import controller_app
from tests.support.cluster import KubeAPI
from tests.support.poll import eventually

pytestmark = pytest.mark.timeout(120)


# nested dialects and empty strings survive the CRD's structural schema on 1.20
NESTED_FILTERS = [{"any": [{"exact": {"type": "a"}}, {"not": {"prefix": {"source": "/x"}}}]},
                  {"cesql": "source LIKE '%shop%' OR subject = ''"}]


def cond(obj: dict, type_: str) -> dict:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c["type"] == type_:
            return c
    return {}


def broker(ns: str, name: str = "default", **spec) -> dict:
    return {"apiVersion": "eventing.knative.dev/v1", "kind": "Broker",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


def trigger(ns: str, name: str, subscriber: dict, broker_name: str = "default", **spec) -> dict:
    return {"apiVersion": "eventing.knative.dev/v1", "kind": "Trigger",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"broker": broker_name, "subscriber": subscriber, **spec}}


async def test_crds_serve_status_as_a_subresource(kube_crds: KubeAPI, client: Client,
                                                  namespace: str) -> None:
    made = await client.create(BROKERS, broker(namespace, "b"))
    made["status"] = {"address": {"url": "http://sneaky"}}
    made["spec"] = {"delivery": {"retry": 2}}
    after = await client.update(BROKERS, made)
    assert "status" not in after, "a main-resource PUT ignores status"
    assert after["metadata"]["generation"] == 2
    after["status"] = {"address": {"url": "http://x/ns/b"}}
    after["spec"] = {"delivery": {"retry": 9}}
    st = await client.update_status(BROKERS, after)
    assert st["status"]["address"]["url"] == "http://x/ns/b"
    assert st["spec"] == {"delivery": {"retry": 2}}, "a /status PUT ignores spec"
    assert st["metadata"]["generation"] == 2, "status writes do not bump generation"
    with pytest.raises(ApiError) as ei:  # the structural schema rejects wrong types
        await client.create(BROKERS, broker(namespace, "bad", delivery={"retry": "ten"}))
    assert ei.value.status == 422


async def test_crds_keep_delivery_format_and_an_empty_filter(kube_crds: KubeAPI, client: Client,
                                                           namespace: str) -> None:
    # Knative's delivery.format (json | binary) and the webhook's default `filter: {}`
    made = await client.create(TRIGGERS, trigger(namespace, "fmt", {"uri": "http://x/"},
                                                 filter={}, delivery={"format": "json"}))
    assert made["spec"]["delivery"] == {"format": "json"}, "not pruned"
    assert made["spec"]["filter"] == {}
    b = await client.create(BROKERS, broker(namespace, "fmt", delivery={"format": "binary"}))
    assert b["spec"]["delivery"] == {"format": "binary"}


@pytest.fixture
async def controller(kube_crds: KubeAPI, client: Client):
    async with controller_app(kube_crds, client) as running:
        yield running


async def test_broker_and_trigger_become_ready(controller, client: Client,
                                               namespace: str) -> None:
    _app, system = controller
    # a trigger may exist before its broker
    await client.create(SERVICES, {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "sink", "namespace": namespace},
        "spec": {"ports": [{"port": 80, "targetPort": 8080}], "selector": {"app": "sink"}}})
    await client.create(TRIGGERS, trigger(namespace, "early", {
        "ref": {"apiVersion": "v1", "kind": "Service", "name": "sink"}, "uri": "/in"},
        filter={"attributes": {"type": "com.example.FullEvent", "source": ""}},
        filters=NESTED_FILTERS))

    async def trig() -> dict:
        return await client.get(TRIGGERS, namespace, "early")
    t = await eventually(lambda: _when(trig(), lambda o: cond(o, "BrokerReady").get(
        "reason") == "BrokerDoesNotExist"), 20, what="BrokerDoesNotExist")
    assert cond(t, "Ready")["status"] == "False"
    assert t["status"]["subscriberUri"] == f"http://sink.{namespace}.svc.cluster.local/in"

    await client.create(BROKERS, broker(namespace, delivery={
        "retry": 3, "deadLetterSink": {"uri": "http://dls.example/"}}))

    async def brk() -> dict:
        return await client.get(BROKERS, namespace, "default")
    b = await eventually(lambda: _when(brk(), lambda o: cond(o, "Ready").get("status") ==
                                       "True"), 30, what="Broker Ready")
    assert b["status"]["address"]["url"] == (
        f"http://broker-ingress.knpy-system.svc.cluster.local/{namespace}/default")
    assert b["status"]["deadLetterSinkUri"] == "http://dls.example/"
    assert b["status"]["observedGeneration"] == b["metadata"]["generation"] == 1
    t = await eventually(lambda: _when(trig(), lambda o: cond(o, "Ready").get("status") ==
                                       "True"), 30, what="Trigger Ready")
    assert t["status"]["deadLetterSinkUri"] == "http://dls.example/", "broker's DLS"

    # the contract the broker pods mount lists both, and parses with the data plane's parser
    async def contract():
        try:
            cm = await client.get(CONFIGMAPS, system, "knpy-broker-contract")
        except ApiError:
            return None
        doc = contract_schema.loads(cm["data"][CONTRACT_KEY])
        return doc if doc.triggers_of(f"{namespace}/default") else None
    doc = await eventually(contract, 20, what="the contract with the trigger")
    [t_spec] = doc.triggers_of(f"{namespace}/default")
    assert t_spec.subscriber == f"http://sink.{namespace}.svc.cluster.local/in"
    assert dict(t_spec.filter_attributes) == {"type": "com.example.FullEvent", "source": ""}
    assert [dict(f) for f in t_spec.filters] == NESTED_FILTERS
    assert doc.broker(f"{namespace}/default").delivery.retry == 3

    # deleting the trigger removes it from the contract (level-triggered rebuild)
    await client.delete(TRIGGERS, namespace, "early")

    async def gone():
        cm = await client.get(CONFIGMAPS, system, "knpy-broker-contract")
        return not contract_schema.loads(cm["data"][CONTRACT_KEY]).triggers_of(
            f"{namespace}/default")
    await eventually(gone, 20, what="trigger removed from the contract")


async def test_live_config_changes_broker_addresses(controller, client: Client,
                                                    namespace: str) -> None:
    app, system = controller
    await client.create(BROKERS, broker(namespace, "b1"))

    async def url() -> str | None:
        o = await client.get(BROKERS, namespace, "b1")
        return ((o.get("status") or {}).get("address") or {}).get("url")
    await eventually(url, 20, what="an address")
    await client.create(CONFIGMAPS, {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "config-knpy-eventing", "namespace": system},
        "data": {"ingress-host": "events.example.com"}})

    async def moved() -> bool:
        return await url() == f"http://events.example.com/{namespace}/b1"
    await eventually(moved, 20, what="the new ingress host applied live")
    # a bad value is rejected and the last good config stays
    cm = await client.get(CONFIGMAPS, system, "config-knpy-eventing")
    cm["data"] = {"ingress-host": "other.example.com", "resync-period": "often"}
    await client.update(CONFIGMAPS, cm)
    await eventually(lambda: "config-knpy-eventing" in app.config.errors, 10,
                     what="the bad config noticed")
    assert app.cfg().ingress_host == "events.example.com"


SINK_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "sinks.example.knpy.dev"},
    "spec": {"group": "example.knpy.dev", "scope": "Namespaced",
             "names": {"kind": "Sink", "plural": "sinks", "singular": "sink"},
             "versions": [{"name": "v1", "served": True, "storage": True,
                           "subresources": {"status": {}},
                           "schema": {"openAPIV3Schema": {
                               "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}}


async def test_subscriber_ref_to_any_addressable_is_tracked(
        kube_crds: KubeAPI, controller, client: Client, namespace: str) -> None:
    """A ref to an arbitrary Addressable kind resolves through discovery, and the trigger
    turns Ready as soon as the referenced object gets an address (tracked, no resync)."""
    kube_crds.apply(json.dumps(SINK_CRD))
    kube_crds.kubectl("wait", "--for=condition=Established", "--timeout=30s",
                      "crd/sinks.example.knpy.dev", timeout=40)
    sinks = Resource("example.knpy.dev", "v1", "sinks", "Sink")
    await client.create(BROKERS, broker(namespace))
    sink = await client.create(sinks, {"apiVersion": "example.knpy.dev/v1", "kind": "Sink",
                                       "metadata": {"name": "s", "namespace": namespace}})
    await client.create(TRIGGERS, trigger(namespace, "t", {
        "ref": {"apiVersion": "example.knpy.dev/v1", "kind": "Sink", "name": "s"},
        "uri": "deliver?x=1"}))

    async def trig() -> dict:
        return await client.get(TRIGGERS, namespace, "t")
    # settled: broker ready, subscriber unresolved; only the sink can change things now
    t = await eventually(lambda: _when(trig(), lambda o: cond(o, "SubscriberResolved").get(
        "status") == "False" and cond(o, "BrokerReady").get("status") == "True"), 20,
        what="SubscriberResolved False without an address")
    assert "does not have an address" in cond(t, "SubscriberResolved")["message"]

    sink["status"] = {"address": {"url": "http://s.example/base/"}}
    await client.update_status(sinks, sink)
    t = await eventually(lambda: _when(trig(), lambda o: cond(o, "Ready").get("status") ==
                                       "True"), 15, what="Ready once the sink is addressable")
    assert t["status"]["subscriberUri"] == "http://s.example/base/deliver?x=1"


async def _when(coro, pred):
    obj = await coro
    return obj if pred(obj) else None
