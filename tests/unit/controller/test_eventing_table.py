"""Table tests for the Broker, Trigger and contract reconcilers (knative's table.go style):
a world of objects + a key -> every write (creates, updates, status updates, patches,
deletes) and the events expected; the contract ConfigMap is compared whole."""

from __future__ import annotations

import copy
import json

import pytest

from knpy.apis.eventing.config import EventingConfig, parse_eventing_config
from knpy.controller.eventing.broker import BrokerReconciler
from knpy.controller.eventing.contract import (
    CONTRACT_KEY,
    GENERATIONS_KEY,
    ContractReconciler,
    broker_entry,
    make_contract,
    render,
    trigger_entry,
)
from knpy.controller.eventing.dataplane import DataPlane
from knpy.controller.eventing.resolver import URIResolver
from knpy.controller.eventing.resources import BROKERS, DEPLOYMENTS, PODS, TRIGGERS
from knpy.controller.eventing.trigger import TriggerReconciler
from knpy.runtime.config import FieldError
from knpy.runtime.contract import eventing as contract_schema
from knpy.runtime.contract.eventing import GENERATION_ANNOTATION
from knpy.runtime.k8s import CONFIGMAPS, SERVICES, Discovery, Lister, Resource, SkipKey
from knpy.runtime.k8s.testing import Row, World, run_row

KSVC = Resource("serving.knative.dev", "v1", "services", "Service")
SYS = "knpy-system"
CM = "knpy-broker-contract"
CFG = EventingConfig(ingress_host="ingress.test")


# ------------------------------------------------------------------ builders
def conds(**statuses: str | tuple[str, str, str]) -> list[dict]:
    out = []
    for t, v in sorted(statuses.items()):
        c = {"type": t, "status": v} if isinstance(v, str) else {
            "type": t, "status": v[0], "reason": v[1], "message": v[2]}
        out.append(c)
    return out


def broker(name: str = "b", ns: str = "ns", *, delivery: dict | None = None,
           status: dict | None = None, cls: str = "MTChannelBasedBroker") -> dict:
    o = {"apiVersion": "eventing.knative.dev/v1", "kind": "Broker",
         "metadata": {"name": name, "namespace": ns, "generation": 1,
                      "annotations": {"eventing.knative.dev/broker.class": cls}},
         "spec": {"delivery": delivery} if delivery else {}}
    if status is not None:
        o["status"] = status
    return o


def ready_broker(name: str = "b", ns: str = "ns", dls: str | None = None) -> dict:
    st = {"address": {"url": f"http://ingress.test/{ns}/{name}"}, "observedGeneration": 1,
          "conditions": conds(Addressable="True", DeadLetterSinkResolved="True",
                              FilterReady="True", IngressReady="True", Ready="True")}
    d = None
    if dls:
        st["deadLetterSinkUri"] = dls
        d = {"deadLetterSink": {"uri": dls}}
    return broker(name, ns, delivery=d, status=st)


def trigger(name: str = "t", ns: str = "ns", broker_name: str = "b", *,
            subscriber: dict | None = None, delivery: dict | None = None,
            annotations: dict | None = None, status: dict | None = None) -> dict:
    o = {"apiVersion": "eventing.knative.dev/v1", "kind": "Trigger",
         "metadata": {"name": name, "namespace": ns, "generation": 1},
         "spec": {"broker": broker_name,
                  "subscriber": subscriber or {"uri": "http://sink.test/"}}}
    if delivery:
        o["spec"]["delivery"] = delivery
    if annotations:
        o["metadata"]["annotations"] = annotations
    if status is not None:
        o["status"] = status
    return o


def contract_cm(*items: str | dict) -> dict:
    """The contract ConfigMap holding these brokers ("ns/name" or a Broker) and Triggers
    (with the status their reconcile writes), as the contract reconciler renders them."""
    doc: dict = {"brokers": [], "triggers": []}
    for it in items:
        if isinstance(it, str):
            doc["brokers"].append({"namespace": it.split("/")[0], "name": it.split("/")[1]})
        elif it["kind"] == "Broker":
            doc["brokers"].append(broker_entry(it, CFG))
        else:
            doc["triggers"].append(trigger_entry(it, {f"ns/{it['spec']['broker']}"}))
    return {"metadata": {"name": CM, "namespace": SYS, "uid": "contract-uid",
                         "annotations": {GENERATION_ANNOTATION: "3"}},
            "data": {CONTRACT_KEY: json.dumps(doc)}}


def with_status(obj: dict, status: dict) -> dict:
    o = copy.deepcopy(obj)
    o["status"] = status
    return o


def discovery(world: World) -> Discovery:
    d = Discovery(world.client)
    for r in (KSVC, SERVICES, BROKERS):
        d.register(r)
    return d


def broker_factory(cfg: EventingConfig = CFG):
    def make(world: World) -> BrokerReconciler:
        return BrokerReconciler(
            world.client, world.listers.setdefault("brokers", Lister(BROKERS)),
            world.recorder, resolver=URIResolver(world.client, discovery(world)),
            dataplane=dataplane(world, cfg), config=lambda: cfg)
    return make


def dataplane(world: World, cfg: EventingConfig = CFG) -> DataPlane:
    return DataPlane(world.listers.setdefault("configmaps", Lister(CONFIGMAPS)),
                     world.listers.setdefault("deployments", Lister(DEPLOYMENTS)),
                     world.listers.setdefault("pods", Lister(PODS)),
                     system_namespace=SYS, contract_name=CM, config=lambda: cfg)


def trigger_factory(world: World) -> TriggerReconciler:
    return TriggerReconciler(
        world.client, world.listers.setdefault("triggers", Lister(TRIGGERS)),
        world.recorder, brokers=world.listers.setdefault("brokers", Lister(BROKERS)),
        resolver=URIResolver(world.client, discovery(world)), dataplane=dataplane(world))


# ------------------------------------------------------------------ Broker
PENDING = ("Unknown", "ContractPending", "the broker is not in the data-plane contract yet")
NO_DLS = ("True", "DeadLetterSinkNotConfigured", "No dead letter sink is configured.")

BROKER_ROWS = [
    Row("new broker, contract not written yet: addressable, data plane pending",
        key="ns/b", objects=[(BROKERS, broker())],
        want_status_updates=[with_status(broker(), {
            "address": {"url": "http://ingress.test/ns/b"}, "observedGeneration": 1,
            "conditions": conds(Addressable="True", DeadLetterSinkResolved=NO_DLS,
                                FilterReady=PENDING, IngressReady=PENDING, Ready=PENDING)})]),
    Row("broker in the contract becomes Ready (and says so once)",
        key="ns/b", objects=[(BROKERS, broker()), (CONFIGMAPS, contract_cm("ns/b"))],
        want_status_updates=[with_status(broker(), {
            "address": {"url": "http://ingress.test/ns/b"}, "observedGeneration": 1,
            "conditions": conds(Addressable="True", DeadLetterSinkResolved=NO_DLS,
                                FilterReady="True", IngressReady="True", Ready="True")})],
        want_events=["Normal BrokerReady Broker 'b' is ready at http://ingress.test/ns/b"]),
    Row("already reconciled: nothing written, no event",
        key="ns/b", objects=[(BROKERS, broker(status={
            "address": {"url": "http://ingress.test/ns/b"}, "observedGeneration": 1,
            "conditions": [dict(c, lastTransitionTime="2020-01-01T00:00:00Z") for c in conds(
                Addressable="True", DeadLetterSinkResolved=NO_DLS, FilterReady="True",
                IngressReady="True", Ready="True")]})),
            (CONFIGMAPS, contract_cm("ns/b"))]),
    Row("dead-letter sink ref to a ksvc resolves through its address",
        key="ns/b", objects=[
            (BROKERS, broker(delivery={"deadLetterSink": {"ref": {
                "apiVersion": "serving.knative.dev/v1", "kind": "Service", "name": "dls"}}})),
            (KSVC, {"metadata": {"name": "dls", "namespace": "ns"},
                    "status": {"address": {"url": "http://dls.ns.example"}}}),
            (CONFIGMAPS, contract_cm(with_status(broker(delivery={"deadLetterSink": {
                "ref": {"kind": "Service"}}}), {"deadLetterSinkUri": "http://dls.ns.example"})))],
        want_status_updates=[with_status(broker(), {
            "address": {"url": "http://ingress.test/ns/b"}, "observedGeneration": 1,
            "deadLetterSinkUri": "http://dls.ns.example",
            "conditions": conds(Addressable="True", DeadLetterSinkResolved="True",
                                FilterReady="True", IngressReady="True", Ready="True")})],
        want_events=["Normal BrokerReady Broker 'b' is ready at http://ingress.test/ns/b"]),
    Row("dead-letter sink that does not exist fails the broker",
        key="ns/b", objects=[
            (BROKERS, broker(delivery={"deadLetterSink": {"ref": {
                "apiVersion": "v1", "kind": "Service", "name": "nope"}}})),
            (CONFIGMAPS, contract_cm("ns/b"))],
        want_status_updates=[with_status(broker(), {
            "address": {"url": "http://ingress.test/ns/b"}, "observedGeneration": 1,
            "conditions": conds(
                Addressable="True", FilterReady="True", IngressReady="True",
                DeadLetterSinkResolved=("False", "Unable to get the DeadLetterSink's URI",
                                        "Service 'nope' not found in namespace 'ns'"),
                Ready=("False", "Unable to get the DeadLetterSink's URI",
                       "Service 'nope' not found in namespace 'ns'"))})],
        want_events=["Warning Unable to get the DeadLetterSink's URI Service 'nope' not "
                     "found in namespace 'ns'"]),
    Row("status write fails: error returned, event recorded",
        key="ns/b", objects=[(BROKERS, broker())],
        failures=[("update_status", "brokers", None)],
        want_status_updates=[with_status(broker(), {
            "address": {"url": "http://ingress.test/ns/b"}, "observedGeneration": 1,
            "conditions": conds(Addressable="True", DeadLetterSinkResolved=NO_DLS,
                                FilterReady=PENDING, IngressReady=PENDING, Ready=PENDING)})],
        want_events=["Warning UpdateFailed Failed to update status for 'b': 500 "
                     "InternalError: injected"],
        want_err=Exception),
    Row("deleted broker: nothing to do", key="ns/gone", objects=[]),
]


@pytest.mark.parametrize("row", BROKER_ROWS, ids=lambda r: r.name)
async def test_broker(row: Row) -> None:
    await run_row(row, broker_factory())


async def test_broker_of_another_class_is_left_alone() -> None:
    cfg = EventingConfig(ingress_host="ingress.test", broker_classes=frozenset({"Knpy"}))
    await run_row(Row("other class", key="ns/b", objects=[(BROKERS, broker())],
                      want_err=SkipKey), broker_factory(cfg))


async def test_broker_waits_for_the_ingress_deployment() -> None:
    cfg = EventingConfig(ingress_host="ingress.test", ingress_deployment="broker-ingress")
    dep = {"metadata": {"name": "broker-ingress", "namespace": SYS},
           "status": {"conditions": [{"type": "Available", "status": "False",
                                      "message": "0/1 replicas"}]}}
    unavailable = ("Unknown", "DeploymentUnavailable", "broker-ingress: 0/1 replicas")
    await run_row(Row(
        "ingress deployment unavailable", key="ns/b",
        objects=[(BROKERS, broker()), (CONFIGMAPS, contract_cm("ns/b")), (DEPLOYMENTS, dep)],
        want_status_updates=[with_status(broker(), {
            "address": {"url": "http://ingress.test/ns/b"}, "observedGeneration": 1,
            "conditions": conds(Addressable="True", DeadLetterSinkResolved=NO_DLS,
                                FilterReady="True", IngressReady=unavailable,
                                Ready=unavailable)})]), broker_factory(cfg))


# ------------------------------------------------------------------ Trigger
NO_DLS_T = NO_DLS
T_PENDING = ("Unknown", "ContractPending", "the trigger is not in the data-plane contract yet")


def served(trig: dict, sub: str, dls: str | None = None) -> tuple:
    """The contract ConfigMap serving `trig` once resolved to `sub` (and `dls`)."""
    st = {"subscriberUri": sub, **({"deadLetterSinkUri": dls} if dls else {})}
    return (CONFIGMAPS, contract_cm("ns/b", with_status(trig, st)))


def t_status(sub: str | None, **c) -> dict:
    st: dict = {"observedGeneration": 1, "conditions": conds(**c)}
    if sub:
        st["subscriberUri"] = sub
    return st


KSVC_SINK = (KSVC, {"metadata": {"name": "sink", "namespace": "ns"},
                    "status": {"address": {"url": "http://sink.ns.example"}}})
NO_BROKER = ("False", "BrokerDoesNotExist", "Broker 'b' does not exist")

TRIGGER_ROWS = [
    Row("trigger before its broker: BrokerDoesNotExist, subscriber still resolved",
        key="ns/t", objects=[(TRIGGERS, trigger())],
        want_status_updates=[with_status(trigger(), t_status(
            "http://sink.test/", BrokerReady=NO_BROKER, DeadLetterSinkResolved=NO_DLS_T,
            DependencyReady="True", SubscriberResolved="True", SubscriptionReady=T_PENDING,
            Ready=NO_BROKER))],
        want_events=["Warning BrokerDoesNotExist Broker 'b' does not exist"]),
    Row("ready broker + ksvc subscriber with a relative uri",
        key="ns/t", objects=[
            (BROKERS, ready_broker()), KSVC_SINK,
            (TRIGGERS, trigger(subscriber={"ref": {"apiVersion": "serving.knative.dev/v1",
                                                   "kind": "Service", "name": "sink"},
                                           "uri": "/events/in"})),
            served(trigger(), "http://sink.ns.example/events/in")],
        want_status_updates=[with_status(trigger(), t_status(
            "http://sink.ns.example/events/in", BrokerReady="True",
            DeadLetterSinkResolved=NO_DLS_T, DependencyReady="True",
            SubscriberResolved="True", SubscriptionReady="True", Ready="True"))],
        want_events=["Normal TriggerReady Trigger 't' delivers to "
                     "http://sink.ns.example/events/in"]),
    Row("subscriber is a plain Kubernetes Service",
        key="ns/t", objects=[
            (BROKERS, ready_broker()),
            (SERVICES, {"metadata": {"name": "web", "namespace": "ns"}}),
            (TRIGGERS, trigger(subscriber={"ref": {"apiVersion": "v1", "kind": "Service",
                                                   "name": "web"}})),
            served(trigger(), "http://web.ns.svc.cluster.local")],
        want_status_updates=[with_status(trigger(), t_status(
            "http://web.ns.svc.cluster.local", BrokerReady="True",
            DeadLetterSinkResolved=NO_DLS_T, DependencyReady="True",
            SubscriberResolved="True", SubscriptionReady="True", Ready="True"))],
        want_events=["Normal TriggerReady Trigger 't' delivers to "
                     "http://web.ns.svc.cluster.local"]),
    Row("subscriber without an address yet",
        key="ns/t", objects=[
            (BROKERS, ready_broker()),
            (KSVC, {"metadata": {"name": "sink", "namespace": "ns"}, "status": {}}),
            (TRIGGERS, trigger(subscriber={"ref": {"apiVersion": "serving.knative.dev/v1",
                                                   "kind": "Service", "name": "sink"}}))],
        want_status_updates=[with_status(trigger(), t_status(
            None, BrokerReady="True", DeadLetterSinkResolved=NO_DLS_T, DependencyReady="True",
            SubscriptionReady=T_PENDING,
            SubscriberResolved=("False", "Unable to get the Subscriber's URI",
                                "Service ns/sink does not have an address "
                                "(status.address.url) yet"),
            Ready=("False", "Unable to get the Subscriber's URI",
                   "Service ns/sink does not have an address (status.address.url) yet")))],
        want_events=["Warning Unable to get the Subscriber's URI Service ns/sink does not "
                     "have an address (status.address.url) yet"]),
    Row("dead-letter sink falls back to the broker's",
        key="ns/t", objects=[(BROKERS, ready_broker(dls="http://dls.test/")),
                             (TRIGGERS, trigger()), served(trigger(), "http://sink.test/")],
        want_status_updates=[with_status(trigger(), {
            **t_status("http://sink.test/", BrokerReady="True",
                       DeadLetterSinkResolved="True", DependencyReady="True",
                       SubscriberResolved="True", SubscriptionReady="True", Ready="True"),
            "deadLetterSinkUri": "http://dls.test/"})],
        want_events=["Normal TriggerReady Trigger 't' delivers to http://sink.test/"]),
    Row("broker not ready yet: BrokerReady Unknown with the broker's reason",
        key="ns/t", objects=[(BROKERS, broker(status={"conditions": conds(
            Ready=("Unknown", "ContractPending", "not yet"))})), (TRIGGERS, trigger())],
        want_status_updates=[with_status(trigger(), t_status(
            "http://sink.test/", BrokerReady=("Unknown", "ContractPending", "not yet"),
            DeadLetterSinkResolved=NO_DLS_T, DependencyReady="True",
            SubscriberResolved="True", SubscriptionReady=T_PENDING,
            Ready=("Unknown", "ContractPending", "not yet")))]),
    Row("dependency annotation pointing at a missing object",
        key="ns/t", objects=[(BROKERS, ready_broker()), (TRIGGERS, trigger(annotations={
            "knative.dev/dependency": json.dumps({"kind": "Service", "name": "src",
                                                  "apiVersion": "serving.knative.dev/v1"})}))],
        want_status_updates=[with_status(trigger(), t_status(
            "http://sink.test/", BrokerReady="True", DeadLetterSinkResolved=NO_DLS_T,
            DependencyReady=("False", "DependencyDoesNotExist",
                             "Service 'src' not found in namespace 'ns'"),
            SubscriberResolved="True", SubscriptionReady=T_PENDING,
            Ready=("False", "DependencyDoesNotExist",
                   "Service 'src' not found in namespace 'ns'")))],
        want_events=["Warning DependencyDoesNotExist Service 'src' not found in "
                     "namespace 'ns'"]),
    Row("status conflict is retried from a fresh GET",
        key="ns/t", objects=[(TRIGGERS, trigger())],
        failures=[("update_status", "triggers",
                   __import__("knpy.runtime.k8s", fromlist=["ApiError"]).ApiError(
                       409, "Conflict", {"reason": "Conflict"}))],
        want_status_updates=[with_status(trigger(), t_status(
            "http://sink.test/", BrokerReady=NO_BROKER, DeadLetterSinkResolved=NO_DLS_T,
            DependencyReady="True", SubscriberResolved="True", SubscriptionReady=T_PENDING,
            Ready=NO_BROKER))] * 2,
        want_events=["Warning BrokerDoesNotExist Broker 'b' does not exist"]),
]


@pytest.mark.parametrize("row", TRIGGER_ROWS, ids=lambda r: r.name)
async def test_trigger(row: Row) -> None:
    await run_row(row, trigger_factory)


async def test_trigger_of_a_broker_of_another_class_is_left_alone() -> None:
    cfg = EventingConfig(broker_classes=frozenset({"MTChannelBasedBroker"}))
    other = broker(cls="Kafka", status={})

    def make(world: World) -> TriggerReconciler:
        r = trigger_factory(world)
        r.config = lambda: cfg
        return r
    await run_row(Row("kafka broker's trigger", key="ns/t",
                      objects=[(BROKERS, other), (TRIGGERS, trigger())], want_err=SkipKey),
                  make)


# ------------------------------------------------------------------ contract
def contract_factory(world: World) -> ContractReconciler:
    return ContractReconciler(
        world.client, world.listers.setdefault("brokers", Lister(BROKERS)),
        world.listers.setdefault("triggers", Lister(TRIGGERS)),
        world.listers.setdefault("configmaps", Lister(CONFIGMAPS)), SYS, CM, lambda: CFG)


def ready_trigger(**kw) -> dict:
    return trigger(**kw, status={"subscriberUri": "http://sink.test/",
                                 "deadLetterSinkUri": "http://tdls.test/"})


async def test_contract_written_once_and_parseable_by_the_data_plane() -> None:
    t1 = ready_trigger(delivery={"retry": 2, "deadLetterSink": {"uri": "http://tdls.test/"}})
    t1["spec"]["filter"] = {"attributes": {"type": "com.example"}}
    t1["spec"]["filters"] = [{"prefix": {"source": "/shop"}}]
    orphan = ready_trigger(name="orphan", broker_name="missing")
    pending = trigger(name="pending")  # subscriber not resolved yet
    objects = [(BROKERS, ready_broker(dls="http://dls.test/")), (TRIGGERS, t1),
               (TRIGGERS, orphan), (TRIGGERS, pending)]
    want_doc = {"brokers": [{"namespace": "ns", "name": "b",
                             "delivery": {"deadLetterSink": {"uri": "http://dls.test/"}}}],
                "triggers": [{"namespace": "ns", "name": "t", "broker": "b",
                              "subscriber": {"uri": "http://sink.test/"},
                              "filter": {"attributes": {"type": "com.example"}},
                              "filters": [{"prefix": {"source": "/shop"}}],
                              "delivery": {"retry": 2, "deadLetterSink": {
                                  "uri": "http://tdls.test/"}}}]}
    world = await run_row(Row("create", key="contract", objects=objects, want_creates=[
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": CM, "namespace": SYS,
                      "labels": {"app.kubernetes.io/part-of": "knpy"},
                      "annotations": {GENERATION_ANNOTATION: "1"}},
         "data": {CONTRACT_KEY: render(want_doc),
                  GENERATIONS_KEY: '{"brokers/ns/b":1,"triggers/ns/t":1}'}}]), contract_factory)
    [create] = world.client.writes("create")
    doc = contract_schema.loads(create.obj["data"][CONTRACT_KEY])
    assert [b.key for b in doc.brokers] == ["ns/b"]
    assert doc.brokers[0].delivery.dead_letter_sink == "http://dls.test/"
    [t] = doc.triggers
    assert (t.key, t.subscriber, t.filter_attributes["type"]) == (
        "ns/t", "http://sink.test/", "com.example")
    assert t.delivery.retry == 2 and t.delivery.dead_letter_sink == "http://tdls.test/"
    assert dict(t.filters[0]) == {"prefix": {"source": "/shop"}}


async def test_contract_unchanged_means_no_write() -> None:
    b = ready_broker()
    cm = {"metadata": {"name": CM, "namespace": SYS},
          "data": {CONTRACT_KEY: render(make_contract([b], [], CFG))}}
    await run_row(Row("same", key="contract", objects=[(BROKERS, b), (CONFIGMAPS, cm)]),
                  contract_factory)


async def test_contract_updated_when_a_broker_goes_away() -> None:
    cm = contract_cm("ns/b", "ns/old")
    cm["metadata"]["annotations"] = {GENERATION_ANNOTATION: "4"}
    world = await run_row(Row("update", key="contract",
                              objects=[(BROKERS, ready_broker()), (CONFIGMAPS, cm)],
                              want_updates=[{
                                  "apiVersion": "v1", "kind": "ConfigMap",
                                  "metadata": {"name": CM, "namespace": SYS,
                                               "annotations": {GENERATION_ANNOTATION: "5"}},
                                  "data": {CONTRACT_KEY: render({
                                      "brokers": [{"namespace": "ns", "name": "b"}],
                                      "triggers": []}),
                                      # unchanged since generation 4
                                      GENERATIONS_KEY: '{"brokers/ns/b":4}'}}]),
                          contract_factory)
    [upd] = world.client.writes("update")
    assert [b.key for b in contract_schema.loads(upd.obj["data"][CONTRACT_KEY]).brokers] == [
        "ns/b"]


def test_eventing_config_parsing() -> None:
    cfg = parse_eventing_config({"ingress-host": "h", "resync-period": "30s",
                                 "broker-classes": "A, B"})
    assert cfg.ingress_host == "h" and cfg.resync_period == 30.0
    assert cfg.handles_class("A") and not cfg.handles_class("C")
    with pytest.raises(FieldError, match=r"config-knpy-eventing\[resync-period\]"):
        parse_eventing_config({"resync-period": "-1s"})


# ------------------------------------------------------------------ data plane readiness
GATED = EventingConfig(ingress_host="ingress.test", ingress_deployment="broker-ingress",
                       dispatcher_deployment="broker-dispatcher")


def deployment(role: str) -> dict:
    return {"metadata": {"name": f"broker-{role}", "namespace": SYS},
            "spec": {"selector": {"matchLabels": {"app": f"broker-{role}"}}},
            "status": {"conditions": [{"type": "Available", "status": "True"}]}}


def pod(role: str, i: int, served: int | None, ready: str = "True") -> dict:
    md: dict = {"name": f"broker-{role}-{i}", "namespace": SYS,
                "labels": {"app": f"broker-{role}"}}
    if served is not None:
        md["annotations"] = {GENERATION_ANNOTATION: str(served),
                             "eventing.knpy.dev/contract-uid": "contract-uid"}
    return {"metadata": md, "status": {"conditions": [{"type": "Ready", "status": ready}]}}


def data_plane(*pods: dict) -> list:
    return [(DEPLOYMENTS, deployment("ingress")), (DEPLOYMENTS, deployment("dispatcher")),
            *[(PODS, p) for p in pods]]


async def test_broker_waits_until_every_ready_pod_serves_its_generation() -> None:
    waiting = ("Unknown", "DataPlaneNotReady", "broker-dispatcher: waiting for contract "
               "generation 3 (with this broker) to be served: broker-dispatcher-1 serves 2")
    # a pod that is not ready (starting, or going away) is not waited for
    pods = [pod("ingress", 0, 3), pod("dispatcher", 0, 3), pod("dispatcher", 1, 2),
            pod("dispatcher", 2, None, ready="False")]
    await run_row(Row(
        "one dispatcher pod behind", key="ns/b",
        objects=[(BROKERS, broker()), (CONFIGMAPS, contract_cm("ns/b")), *data_plane(*pods)],
        want_status_updates=[with_status(broker(), {
            "address": {"url": "http://ingress.test/ns/b"}, "observedGeneration": 1,
            "conditions": conds(Addressable="True", DeadLetterSinkResolved=NO_DLS,
                                FilterReady=waiting, IngressReady="True", Ready=waiting)})]),
        broker_factory(GATED))
    pods[2] = pod("dispatcher", 1, 4)
    await run_row(Row(
        "every ready pod serves it", key="ns/b",
        objects=[(BROKERS, broker()), (CONFIGMAPS, contract_cm("ns/b")), *data_plane(*pods)],
        want_status_updates=[with_status(broker(), {
            "address": {"url": "http://ingress.test/ns/b"}, "observedGeneration": 1,
            "conditions": conds(Addressable="True", DeadLetterSinkResolved=NO_DLS,
                                FilterReady="True", IngressReady="True", Ready="True")})],
        want_events=["Normal BrokerReady Broker 'b' is ready at http://ingress.test/ns/b"]),
        broker_factory(GATED))


async def test_a_generation_of_a_deleted_contract_map_does_not_count() -> None:
    # the map was re-created (it counts from 1 again): a pod's 9 was of the old map
    cm = contract_cm("ns/b")
    cm["metadata"]["uid"] = "new-uid"
    old_map = pod("dispatcher", 0, 9)
    old_map["metadata"]["annotations"]["eventing.knpy.dev/contract-uid"] = "old-uid"
    same_map = pod("ingress", 0, 3)
    same_map["metadata"]["annotations"]["eventing.knpy.dev/contract-uid"] = "new-uid"
    waiting = ("Unknown", "DataPlaneNotReady", "broker-dispatcher: waiting for contract "
               "generation 3 (with this broker) to be served: broker-dispatcher-0 serves 0")
    await run_row(Row(
        "re-created map", key="ns/b",
        objects=[(BROKERS, broker()), (CONFIGMAPS, cm), *data_plane(same_map, old_map)],
        want_status_updates=[with_status(broker(), {
            "address": {"url": "http://ingress.test/ns/b"}, "observedGeneration": 1,
            "conditions": conds(Addressable="True", DeadLetterSinkResolved=NO_DLS,
                                FilterReady=waiting, IngressReady="True", Ready=waiting)})]),
        broker_factory(GATED))


async def test_trigger_waits_for_the_entry_it_has_now_not_an_older_one() -> None:
    def make(world: World) -> TriggerReconciler:
        r = trigger_factory(world)
        r.dataplane.config = lambda: GATED
        return r
    # the contract still holds the trigger's old subscriber: not served yet
    stale = served(trigger(), "http://old.test/")
    pods = data_plane(pod("ingress", 0, 3), pod("dispatcher", 0, 3))
    world = await run_row(Row("stale entry", key="ns/t", objects=[
        (BROKERS, ready_broker()), (TRIGGERS, trigger()), stale, *pods],
        want_status_updates=[with_status(trigger(), t_status(
            "http://sink.test/", BrokerReady="True", DeadLetterSinkResolved=NO_DLS_T,
            DependencyReady="True", SubscriberResolved="True", SubscriptionReady=T_PENDING,
            Ready=T_PENDING))]), make)
    assert world.recorder.events == []


def test_unchanged_entries_keep_the_generation_they_changed_in() -> None:
    from knpy.controller.eventing.contract import entry_generation, next_generations
    b = ready_broker()
    t1 = with_status(trigger("t1"), {"subscriberUri": "http://a.test/"})
    t2 = with_status(trigger("t2"), {"subscriberUri": "http://b.test/"})
    doc1 = make_contract([b], [t1], CFG)
    cm1 = {"metadata": {"annotations": {GENERATION_ANNOTATION: "7"}},
           "data": {CONTRACT_KEY: render(doc1),
                    GENERATIONS_KEY: json.dumps(next_generations(None, doc1, 7))}}
    doc2 = make_contract([b], [t1, t2], CFG)
    gens = next_generations(cm1, doc2, 8)
    assert gens == {"brokers/ns/b": 7, "triggers/ns/t1": 7, "triggers/ns/t2": 8}
    cm2 = {"metadata": {"annotations": {GENERATION_ANNOTATION: "8"}},
           "data": {CONTRACT_KEY: render(doc2), GENERATIONS_KEY: json.dumps(gens)}}
    assert entry_generation(cm2, "triggers", "ns/t1", doc2["triggers"][0]) == 7
    assert entry_generation(cm2, "triggers", "ns/t2", doc2["triggers"][1]) == 8
    changed = dict(doc2["triggers"][0], subscriber={"uri": "http://new.test/"})
    assert entry_generation(cm2, "triggers", "ns/t1", changed) is None


def test_unroutable_subscriber_and_delivery_format_stay_in_the_contract() -> None:
    # Knative keeps a `bad://uri` subscriber: every delivery fails and dead-letters, so the
    # trigger must be in the contract (and so can be Ready for what the data plane serves)
    t = with_status(trigger(subscriber={"uri": "bad://uri"},
                            delivery={"format": "json", "deadLetterSink": {"uri": "x"}}),
                    {"subscriberUri": "bad://uri", "deadLetterSinkUri": "http://dls.test/"})
    doc = make_contract([ready_broker()], [t], CFG)
    assert doc["triggers"] == [{
        "namespace": "ns", "name": "t", "broker": "b", "subscriber": {"uri": "bad://uri"},
        "delivery": {"format": "json", "deadLetterSink": {"uri": "http://dls.test/"}}}]
    [parsed] = contract_schema.parse(doc).triggers
    assert parsed.subscriber == "bad://uri" and parsed.delivery.format == "json"


def test_a_trigger_whose_filter_the_data_plane_rejects_is_left_out() -> None:
    # only reachable without the webhook: never Ready for a filter nobody applies
    t = with_status(trigger(), {"subscriberUri": "http://sink.test/"})
    t["spec"]["filters"] = [{"cesql": "((("}]
    assert make_contract([ready_broker()], [t], CFG)["triggers"] == []
