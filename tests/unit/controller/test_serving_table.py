"""Table tests for the Service and Configuration reconcilers (the Route's are in
test_serving_route_table.py): a world of
objects + a key -> every write (Configuration / Route / Revision creates, updates, status)
and the events expected."""

from __future__ import annotations

import copy

import pytest

from knpy.apis.serving.v1.register import (
    CONFIGURATION_GENERATION_LABEL,
    CONFIGURATION_LABEL,
    CONFIGURATION_UID_LABEL,
    CREATOR_ANNOTATION,
    LAST_MODIFIER_ANNOTATION,
    ROUTES_ANNOTATION,
    ROUTING_STATE_LABEL,
    ROUTING_STATE_MODIFIED_ANNOTATION,
    SERVICE_LABEL,
    SERVICE_UID_LABEL,
)
from knpy.controller.serving.configuration import ConfigurationReconciler
from knpy.controller.serving.resources import (
    CONFIGURATIONS,
    KSERVICES,
    REVISIONS,
    ROUTES,
    SPEC_HASH_ANNOTATION,
)
from knpy.controller.serving.service import ServiceReconciler
from knpy.runtime.k8s import Lister, Resource
from knpy.runtime.k8s.naming import spec_hash
from knpy.runtime.k8s.testing import Row, World, run_row

NOW = "2026-01-01T00:00:00Z"
TEMPLATE = {"metadata": {"annotations": {"autoscaling.knative.dev/target": "10"}},
            "spec": {"containerConcurrency": 0, "timeoutSeconds": 300,
                     "containers": [{"name": "user-container", "image": "img:1",
                                     "ports": [{"name": "http1", "containerPort": 8080}]}]}}
TRAFFIC = [{"percent": 100, "latestRevision": True}]


def conds(**statuses: str | tuple[str, str, str]) -> list[dict]:
    return [{"type": t, "status": v} if isinstance(v, str) else
            {"type": t, "status": v[0], "reason": v[1], "message": v[2]}
            for t, v in sorted(statuses.items())]


def lister(world: World, res: Resource) -> Lister:
    return world.listers.setdefault(res.plural, Lister(res))


def with_status(obj: dict, status: dict) -> dict:
    return {**copy.deepcopy(obj), "status": status}


def owner(kind: str, name: str, uid: str) -> dict:
    return {"apiVersion": "serving.knative.dev/v1", "kind": kind, "name": name, "uid": uid,
            "controller": True, "blockOwnerDeletion": True}


# ------------------------------------------------------------------ Service
def ksvc(template: dict | None = None, traffic: list | None = None, gen: int = 1,
         status: dict | None = None, modifier: str | None = None,
         labels: dict | None = None, extra: dict | None = None) -> dict:
    ann = {CREATOR_ANNOTATION: "alice", **(extra or {})}
    if modifier:
        ann[LAST_MODIFIER_ANNOTATION] = modifier
    o = {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
         "metadata": {"name": "hello", "namespace": "ns", "uid": "svc-uid", "generation": gen,
                      "annotations": ann, "labels": dict(labels or {})},
         "spec": {"template": copy.deepcopy(template or TEMPLATE),
                  "traffic": copy.deepcopy(traffic or TRAFFIC)}}
    if status is not None:
        o["status"] = status
    return o


def svc_children_meta(spec: dict, routes: bool, modifier: str | None = None,
                      labels: dict | None = None, extra: dict | None = None) -> dict:
    ann = {CREATOR_ANNOTATION: "alice", **(extra or {})}
    if modifier:
        ann[LAST_MODIFIER_ANNOTATION] = modifier
    if routes:
        ann[ROUTES_ANNOTATION] = "hello"
    labels = {**(labels or {}), SERVICE_LABEL: "hello", SERVICE_UID_LABEL: "svc-uid"}
    digest = spec_hash({"spec": spec, "labels": labels, "annotations": ann})
    return {"name": "hello", "namespace": "ns", "labels": labels,
            "annotations": {**ann, SPEC_HASH_ANNOTATION: digest},
            "ownerReferences": [owner("Service", "hello", "svc-uid")]}


def cfg_of(template: dict | None = None, *, status: dict | None = None, gen: int = 1,
           uid: str = "cfg-uid", owned: bool = True, modifier: str | None = None,
           labels: dict | None = None, extra: dict | None = None) -> dict:
    spec = {"template": copy.deepcopy(template or TEMPLATE)}
    md = {**svc_children_meta(spec, True, modifier, labels, extra), "generation": gen,
          "uid": uid}
    if not owned:
        md["ownerReferences"] = []
    o = {"apiVersion": "serving.knative.dev/v1", "kind": "Configuration", "metadata": md,
         "spec": spec}
    if status is not None:
        o["status"] = status
    return o


def route_of(*, status: dict | None = None, labels: dict | None = None,
             extra: dict | None = None) -> dict:
    spec = {"traffic": [{"percent": 100, "latestRevision": True,
                         "configurationName": "hello"}]}
    o = {"apiVersion": "serving.knative.dev/v1", "kind": "Route",
         "metadata": {**svc_children_meta(spec, False, labels=labels, extra=extra),
                      "generation": 1}, "spec": spec}
    if status is not None:
        o["status"] = status
    return o


def no_uid_gen(o: dict) -> dict:
    """What the reconciler sends on create: no uid / generation (the server sets them)."""
    o = copy.deepcopy(o)
    o["metadata"].pop("uid", None)
    o["metadata"].pop("generation", None)
    return o


CFG_OUT_OF_DATE = ("Unknown", "OutOfDate",
                   "The Configuration is still working to reflect the latest desired "
                   "specification.")
ROUTE_OUT_OF_DATE = ("Unknown", "OutOfDate",
                     "The Route is still working to reflect the latest desired "
                     "specification.")
NO_INGRESS = ("Unknown", "IngressNotConfigured", "Ingress has not yet been reconciled.")
CFG_READY = {"observedGeneration": 1, "latestCreatedRevisionName": "hello-00001",
             "latestReadyRevisionName": "hello-00001", "conditions": conds(Ready="True")}
TLS_OFF = ("True", "TLSNotEnabled", "external-domain-tls is not enabled")
ROUTED = {"url": "http://hello.ns.example.com",
          "address": {"url": "http://hello.ns.svc.cluster.local"},
          "traffic": [{"revisionName": "hello-00001", "latestRevision": True, "percent": 100}]}
ROUTE_PENDING = {"observedGeneration": 1, **ROUTED, "conditions": conds(
    AllTrafficAssigned="True", IngressReady=NO_INGRESS, Ready=NO_INGRESS,
    CertificateProvisioned=TLS_OFF)}
ROUTE_READY = {"observedGeneration": 1, **ROUTED, "conditions": conds(
    AllTrafficAssigned="True", IngressReady="True", Ready="True",
    CertificateProvisioned=TLS_OFF)}


def service_factory(world: World) -> ServiceReconciler:
    return ServiceReconciler(world.client, lister(world, KSERVICES), world.recorder,
                             configurations=lister(world, CONFIGURATIONS),
                             routes=lister(world, ROUTES), revisions=lister(world, REVISIONS))


def revision_of(name: str, cfg: str, gen: int = 1, ready: str | None = None,
                spec: dict | None = None) -> dict:
    o = {"apiVersion": "serving.knative.dev/v1", "kind": "Revision",
         "metadata": {"name": name, "namespace": "ns", "generation": 1,
                      "labels": {CONFIGURATION_LABEL: cfg,
                                 CONFIGURATION_GENERATION_LABEL: str(gen)},
                      "ownerReferences": [owner("Configuration", cfg, f"{cfg}-uid")]},
         "spec": copy.deepcopy(spec or TEMPLATE["spec"])}
    if ready is not None:
        o["status"] = {"conditions": conds(Ready=ready) if ready != "False" else conds(
            Ready=("False", "ExitCode1", "container crashed"))}
    return o


NEW_TEMPLATE = {**TEMPLATE, "spec": {**TEMPLATE["spec"], "containers": [
    {"name": "user-container", "image": "img:2"}]}}
BYO = {**TEMPLATE, "metadata": {"name": "hello-v1"}}

SERVICE_ROWS = [
    Row("new Service: its Configuration and Route are created, both still out of date",
        key="ns/hello", objects=[(KSERVICES, ksvc())],
        want_creates=[no_uid_gen(cfg_of()), no_uid_gen(route_of())],
        want_status_updates=[with_status(ksvc(), {"observedGeneration": 1, "conditions": conds(
            ConfigurationsReady=CFG_OUT_OF_DATE, RoutesReady=ROUTE_OUT_OF_DATE,
            Ready=CFG_OUT_OF_DATE)})]),
    Row("ready Configuration, Route without ingress: Ready says it waits for the Route",
        key="ns/hello", objects=[(KSERVICES, ksvc()), (CONFIGURATIONS, cfg_of(status=CFG_READY)),
                                 (ROUTES, route_of(status=ROUTE_PENDING))],
        want_status_updates=[with_status(ksvc(), {
            "observedGeneration": 1, "latestCreatedRevisionName": "hello-00001",
            "latestReadyRevisionName": "hello-00001", **ROUTED, "conditions": conds(
                ConfigurationsReady="True", RoutesReady=NO_INGRESS, Ready=NO_INGRESS)})]),
    Row("ready Configuration and Route: the Service is Ready with the Route's URL, address "
        "and traffic", key="ns/hello", objects=[
            (KSERVICES, ksvc()), (CONFIGURATIONS, cfg_of(status=CFG_READY)),
            (ROUTES, route_of(status=ROUTE_READY))],
        want_status_updates=[with_status(ksvc(), {
            "observedGeneration": 1, "latestCreatedRevisionName": "hello-00001",
            "latestReadyRevisionName": "hello-00001", **ROUTED, "conditions": conds(
                ConfigurationsReady="True", RoutesReady="True", Ready="True")})]),
    Row("a changed template updates the Configuration's spec and its lastModifier (the "
        "Route's lastModifier too: the Service's annotations reach both)",
        key="ns/hello", objects=[(KSERVICES, ksvc(NEW_TEMPLATE, gen=2, modifier="bob")),
                                 (CONFIGURATIONS, cfg_of(status=CFG_READY)),
                                 (ROUTES, route_of(status=ROUTE_PENDING))],
        want_updates=[with_status(cfg_of(NEW_TEMPLATE, modifier="bob"), CFG_READY),
                      with_status(route_of(extra={LAST_MODIFIER_ANNOTATION: "bob"}),
                                  ROUTE_PENDING)],
        want_status_updates=[with_status(ksvc(), {
            "observedGeneration": 2, **ROUTED, "conditions": conds(
                ConfigurationsReady=CFG_OUT_OF_DATE, RoutesReady=NO_INGRESS,
                Ready=CFG_OUT_OF_DATE)})]),
    Row("a label and an annotation added to the Service alone reach its Configuration and "
        "Route (Knative's label/annotation propagation conformance)", key="ns/hello",
        objects=[(KSERVICES, ksvc(labels={"juicy": "jamba"}, extra={"sweet": "yes"})),
                 (CONFIGURATIONS, cfg_of(status=CFG_READY)),
                 (ROUTES, route_of(status=ROUTE_READY))],
        want_updates=[with_status(cfg_of(labels={"juicy": "jamba"}, extra={"sweet": "yes"}),
                                  CFG_READY),
                      with_status(route_of(labels={"juicy": "jamba"}, extra={"sweet": "yes"}),
                                  ROUTE_READY)],
        want_status_updates=[with_status(ksvc(), {
            "observedGeneration": 1, "latestCreatedRevisionName": "hello-00001",
            "latestReadyRevisionName": "hello-00001", **ROUTED, "conditions": conds(
                ConfigurationsReady="True", RoutesReady="True", Ready="True")})]),
    Row("a label and an annotation removed from the Service go from its children too",
        key="ns/hello", objects=[
            (KSERVICES, ksvc()),
            (CONFIGURATIONS, cfg_of(status=CFG_READY, labels={"juicy": "jamba"},
                                    extra={"sweet": "yes"})),
            (ROUTES, route_of(status=ROUTE_READY, labels={"juicy": "jamba"},
                              extra={"sweet": "yes"}))],
        want_updates=[with_status(cfg_of(), CFG_READY), with_status(route_of(), ROUTE_READY)],
        want_status_updates=[with_status(ksvc(), {
            "observedGeneration": 1, "latestCreatedRevisionName": "hello-00001",
            "latestReadyRevisionName": "hello-00001", **ROUTED, "conditions": conds(
                ConfigurationsReady="True", RoutesReady="True", Ready="True")})]),
    Row("a Configuration of that name it does not own: NotOwned, nothing created",
        key="ns/hello", objects=[(KSERVICES, ksvc()), (CONFIGURATIONS, cfg_of(owned=False))],
        want_status_updates=[with_status(ksvc(), {"observedGeneration": 1, "conditions": conds(
            ConfigurationsReady=("False", "NotOwned",
                                 "There is an existing Configuration 'hello' that we do not "
                                 "own."),
            RoutesReady="Unknown",
            Ready=("False", "NotOwned", "There is an existing Configuration 'hello' that we "
                                        "do not own."))})]),
    Row("a BYO revision name another Configuration's revision holds: RevisionNameTaken",
        key="ns/hello", objects=[(KSERVICES, ksvc(BYO)), (CONFIGURATIONS, cfg_of(BYO)),
                                 (REVISIONS, revision_of("hello-v1", "other"))],
        want_status_updates=[with_status(ksvc(), {"observedGeneration": 1, "conditions": conds(
            ConfigurationsReady=CFG_OUT_OF_DATE,
            RoutesReady=("False", "RevisionNameTaken",
                         "The revision name 'hello-v1' is taken by another service"),
            Ready=("False", "RevisionNameTaken",
                   "The revision name 'hello-v1' is taken by another service"))})]),
]


@pytest.mark.parametrize("row", SERVICE_ROWS, ids=lambda r: r.name)
async def test_service(row: Row) -> None:
    await run_row(row, service_factory)


# ------------------------------------------------------------------ Configuration
def config(template: dict | None = None, gen: int = 1, status: dict | None = None) -> dict:
    o = {"apiVersion": "serving.knative.dev/v1", "kind": "Configuration",
         "metadata": {"name": "hello", "namespace": "ns", "uid": "hello-uid", "generation": gen,
                      "labels": {SERVICE_LABEL: "hello", SERVICE_UID_LABEL: "svc-uid"},
                      "annotations": {LAST_MODIFIER_ANNOTATION: "bob",
                                      ROUTES_ANNOTATION: "hello"}},
         "spec": {"template": copy.deepcopy(template or TEMPLATE)}}
    if status is not None:
        o["status"] = status
    return o


def made_revision(name: str, gen: int, template: dict | None = None) -> dict:
    t = template or TEMPLATE
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Revision",
            "metadata": {"name": name, "namespace": "ns",
                         "labels": {CONFIGURATION_LABEL: "hello",
                                    CONFIGURATION_GENERATION_LABEL: str(gen),
                                    CONFIGURATION_UID_LABEL: "hello-uid",
                                    ROUTING_STATE_LABEL: "pending",
                                    SERVICE_LABEL: "hello", SERVICE_UID_LABEL: "svc-uid"},
                         "annotations": {**(t["metadata"].get("annotations") or {}),
                                         ROUTING_STATE_MODIFIED_ANNOTATION: NOW,
                                         CREATOR_ANNOTATION: "bob",
                                         ROUTES_ANNOTATION: "hello"},
                         "ownerReferences": [owner("Configuration", "hello", "hello-uid")]},
            "spec": copy.deepcopy(t["spec"])}


def config_factory(world: World) -> ConfigurationReconciler:
    return ConfigurationReconciler(world.client, lister(world, CONFIGURATIONS), world.recorder,
                                   revisions=lister(world, REVISIONS), clock=lambda: NOW)


def cfg_status(created: str, ready: str | None, cond: str | tuple[str, str, str],
               gen: int = 1) -> dict:
    st = {"observedGeneration": gen, "latestCreatedRevisionName": created,
          "conditions": conds(Ready=cond)}
    if ready:
        st["latestReadyRevisionName"] = ready
    return st


BYO_NAMED = {**TEMPLATE, "metadata": {**TEMPLATE["metadata"], "name": "hello-v1"}}
CONFIGURATION_ROWS = [
    Row("generation 1: Revision hello-00001 created from the template",
        key="ns/hello", objects=[(CONFIGURATIONS, config())],
        want_creates=[made_revision("hello-00001", 1)],
        want_status_updates=[with_status(config(), cfg_status("hello-00001", None, "Unknown"))],
        want_events=["Normal Created Created Revision 'hello-00001'"]),
    Row("a BYO template name names the Revision",
        key="ns/hello", objects=[(CONFIGURATIONS, config(BYO_NAMED))],
        want_creates=[made_revision("hello-v1", 1, BYO_NAMED)],
        want_status_updates=[with_status(config(), cfg_status("hello-v1", None, "Unknown"))],
        want_events=["Normal Created Created Revision 'hello-v1'"]),
    Row("its Revision turned Ready: latestReady follows, Ready True",
        key="ns/hello", objects=[(CONFIGURATIONS, config(status=cfg_status(
            "hello-00001", None, "Unknown"))),
            (REVISIONS, revision_of("hello-00001", "hello", 1, "True"))],
        want_status_updates=[with_status(config(), cfg_status("hello-00001", "hello-00001",
                                                              "True"))],
        want_events=["Normal ConfigurationReady Configuration becomes ready",
                     "Normal LatestReadyUpdate LatestReadyRevisionName updated to "
                     "'hello-00001'"]),
    Row("generation 2: hello-00002 created, latestReady stays on the ready hello-00001",
        key="ns/hello", objects=[
            (CONFIGURATIONS, config(NEW_TEMPLATE, gen=2, status=cfg_status(
                "hello-00001", "hello-00001", "True"))),
            (REVISIONS, revision_of("hello-00001", "hello", 1, "True"))],
        want_creates=[made_revision("hello-00002", 2, NEW_TEMPLATE)],
        want_status_updates=[with_status(config(), cfg_status("hello-00002", "hello-00001",
                                                              "Unknown", gen=2))],
        want_events=["Normal Created Created Revision 'hello-00002'"]),
    Row("the latest created Revision failed: Ready False RevisionFailed",
        key="ns/hello", objects=[
            (CONFIGURATIONS, config(status=cfg_status("hello-00001", None, "Unknown"))),
            (REVISIONS, revision_of("hello-00001", "hello", 1, "False"))],
        want_status_updates=[with_status(config(), cfg_status("hello-00001", None, (
            "False", "RevisionFailed",
            "Revision 'hello-00001' failed with message: container crashed.")))],
        want_events=["Warning LatestCreatedFailed Latest created revision 'hello-00001' "
                     "has failed"]),
    Row("the name belongs to another Configuration's Revision: creation failed, no write",
        key="ns/hello", objects=[(CONFIGURATIONS, config()),
                                 (REVISIONS, revision_of("hello-00001", "other"))],
        want_status_updates=[with_status(config(), {"observedGeneration": 1, "conditions": conds(
            Ready=("False", "RevisionFailed",
                   "Revision creation failed with message: revisions.serving.knative.dev "
                   "'hello-00001' already exists and belongs to another Configuration or "
                   "generation."))})]),
    Row("a BYO name kept across generations with the same spec is still ours",
        key="ns/hello", objects=[(CONFIGURATIONS, config(BYO_NAMED, gen=2)),
                                 (REVISIONS, revision_of("hello-v1", "hello", 1, "True"))],
        want_status_updates=[with_status(config(), cfg_status("hello-v1", "hello-v1", "True",
                                                              gen=2))],
        want_events=["Normal ConfigurationReady Configuration becomes ready",
                     "Normal LatestReadyUpdate LatestReadyRevisionName updated to "
                     "'hello-v1'"]),
    Row("a BYO name whose Revision has another spec: creation failed",
        key="ns/hello", objects=[(CONFIGURATIONS, config(BYO_NAMED, gen=2)),
                                 (REVISIONS, revision_of("hello-v1", "hello", 1, "True",
                                                         spec=NEW_TEMPLATE["spec"]))],
        want_status_updates=[with_status(config(), {"observedGeneration": 2, "conditions": conds(
            Ready=("False", "RevisionFailed",
                   "Revision creation failed with message: revisions.serving.knative.dev "
                   "'hello-v1' already exists and belongs to another Configuration or "
                   "generation."))})]),
    Row("this generation's Revision under another name (an older knpy's name form on an "
        "upgraded cluster) is the latest created: no second one is made",
        key="ns/hello", objects=[(CONFIGURATIONS, config()),
                                 (REVISIONS, revision_of("hello-0000-1a2b3c4d", "hello", 1,
                                                         "True"))],
        want_status_updates=[with_status(config(), cfg_status(
            "hello-0000-1a2b3c4d", "hello-0000-1a2b3c4d", "True"))],
        want_events=["Normal ConfigurationReady Configuration becomes ready",
                     "Normal LatestReadyUpdate LatestReadyRevisionName updated to "
                     "'hello-0000-1a2b3c4d'"]),
    Row("the latest ready Revision was deleted: RevisionDeleted",
        key="ns/hello", objects=[
            (CONFIGURATIONS, config(NEW_TEMPLATE, gen=2, status=cfg_status(
                "hello-00002", "hello-00001", "Unknown", gen=2))),
            (REVISIONS, revision_of("hello-00002", "hello", 2, None))],
        want_status_updates=[with_status(config(), {
            "observedGeneration": 2, "latestCreatedRevisionName": "hello-00002",
            "conditions": conds(Ready=("False", "RevisionDeleted",
                                       "Revision 'hello-00001' was deleted."))})]),
]


@pytest.mark.parametrize("row", CONFIGURATION_ROWS, ids=lambda r: r.name)
async def test_configuration(row: Row) -> None:
    await run_row(row, config_factory)
