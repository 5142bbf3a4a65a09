"""Table tests for the source reconcilers (knative's table.go style): a world of objects +
a key -> every write (subject updates, finalizer patches, SubjectAccessReviews, adapter
Deployments and SinkBindings, status) and the events expected."""

from __future__ import annotations

import copy

import pytest

from knpy.apis.sources.v1 import ApiServerSource, ContainerSource
from knpy.apis.sources.v1.register import SINKBINDING_FINALIZER
from knpy.controller.eventing.resolver import URIResolver
from knpy.controller.sources.adapter import (
    apiserver_deployment,
    container_deployment,
    container_sinkbinding,
)
from knpy.controller.sources.apiserver import ApiServerSourceReconciler
from knpy.controller.sources.binding import BOUND_BY
from knpy.controller.sources.container import ContainerSourceReconciler
from knpy.controller.sources.ping import PING_ADAPTER, PingSourceReconciler
from knpy.controller.sources.resources import (
    APISERVERSOURCES,
    CONTAINERSOURCES,
    DEPLOYMENTS,
    PINGSOURCES,
    SINKBINDINGS,
)
from knpy.controller.sources.sinkbinding import SinkBindingReconciler
from knpy.controller.sources.subjects import SubjectWatcher
from knpy.runtime.k8s import SERVICES, ApiError, Discovery, Informer, Lister, RequeueAfter
from knpy.runtime.k8s.testing import FAKE_SERVER, Action, Row, World, run_row

SINK = "http://sink.test/"
SVC_SINK = "http://web.ns.svc.cluster.local"
IMAGE = "example.test/sources:1"


def conds(**statuses: str | tuple[str, str, str]) -> list[dict]:
    return [{"type": t, "status": v} if isinstance(v, str) else
            {"type": t, "status": v[0], "reason": v[1], "message": v[2]}
            for t, v in sorted(statuses.items())]


def discovery(world: World) -> Discovery:
    d = Discovery(world.client)
    for r in (SERVICES, DEPLOYMENTS):
        d.register(r)
    return d


def deployment(name: str, labels: dict | None = None, env: dict | None = None,
               bound_by: str | None = None, unbound: bool = False) -> dict:
    md: dict = {"name": name, "namespace": "ns", "labels": labels or {"app": name}}
    if bound_by or unbound:  # unbinding empties the annotations it had set
        md["annotations"] = {BOUND_BY: bound_by} if bound_by else {}
    c: dict = {"name": "c", "image": "example.test/app"}
    if env:
        c["env"] = [{"name": k, "value": v} for k, v in env.items()]
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": md,
            "spec": {"template": {"spec": {"containers": [c]}}}}


# ------------------------------------------------------------------ SinkBinding
def binding(name: str = "sb", *, subject: dict | None = None, sink: dict | None = None,
            finalizers: list[str] | None = None, deleting: bool = False,
            overrides: dict | None = None, status: dict | None = None) -> dict:
    md: dict = {"name": name, "namespace": "ns", "generation": 1}
    if finalizers is not None:
        md["finalizers"] = finalizers
    if deleting:
        md["deletionTimestamp"] = "2020-01-01T00:00:00Z"
    spec: dict = {"subject": subject or {"apiVersion": "apps/v1", "kind": "Deployment",
                                         "name": "app"},
                  "sink": sink or {"uri": SINK}}
    if overrides:
        spec["ceOverrides"] = overrides
    o = {"apiVersion": "sources.knative.dev/v1", "kind": "SinkBinding", "metadata": md,
         "spec": spec}
    if status is not None:
        o["status"] = status
    return o


def sb_status(sink: str | None = SINK, **c) -> dict:
    st: dict = {"observedGeneration": 1, "conditions": conds(**c)}
    if sink:
        st["sinkUri"] = sink
    return st


BOUND = sb_status(SinkProvided="True", BindingAvailable="True", Ready="True")
FINALIZE = ("sinkbindings/ns/sb", {"metadata": {"finalizers": [SINKBINDING_FINALIZER]}})
OURS = [SINKBINDING_FINALIZER]


def with_status(obj: dict, status: dict) -> dict:
    return {**copy.deepcopy(obj), "status": status}


def sinkbinding_factory(world: World) -> SinkBindingReconciler:
    # the controller's shared Deployments informer, already synced from the row's world
    deployments = Informer(world.client, DEPLOYMENTS)
    deployments.lister = world.listers.setdefault("deployments", Lister(DEPLOYMENTS))
    deployments.synced.set()
    d = discovery(world)
    return SinkBindingReconciler(
        world.client, world.listers.setdefault("sinkbindings", Lister(SINKBINDINGS)),
        world.recorder, resolver=URIResolver(world.client, d),
        subjects=SubjectWatcher(world.client, d, lambda _r, _o: None,
                                shared={DEPLOYMENTS: deployments}))


SINKBINDING_ROWS = [
    Row("new binding: finalizer added, K_SINK injected into the named subject",
        key="ns/sb", objects=[(SINKBINDINGS, binding()), (DEPLOYMENTS, deployment("app")),
                              (DEPLOYMENTS, deployment("other"))],
        want_patches=[FINALIZE],
        want_updates=[deployment("app", env={"K_SINK": SINK}, bound_by="sb")],
        # the finalizer patch moved resourceVersion: the first status write conflicts
        want_status_updates=[with_status(binding(), BOUND)] * 2),
    Row("bound already: nothing written",
        key="ns/sb", objects=[
            (SINKBINDINGS, binding(finalizers=OURS, status=BOUND)),
            (DEPLOYMENTS, deployment("app", env={"K_SINK": SINK}, bound_by="sb"))]),
    Row("ceOverrides and a K_SINK someone changed are put back",
        key="ns/sb", objects=[
            (SINKBINDINGS, binding(finalizers=OURS, status=BOUND,
                                   overrides={"extensions": {"team": "a"}})),
            (DEPLOYMENTS, deployment("app", env={"K_SINK": "http://elsewhere/"},
                                     bound_by="sb"))],
        want_updates=[deployment("app", bound_by="sb", env={
            "K_SINK": SINK, "K_CE_OVERRIDES": '{"extensions":{"team":"a"}}'})]),
    Row("selector: every match bound, one that stopped matching unbound",
        key="ns/sb", objects=[
            (SINKBINDINGS, binding(finalizers=OURS, status=BOUND, subject={
                "apiVersion": "apps/v1", "kind": "Deployment",
                "selector": {"matchLabels": {"bind": "yes"}}})),
            (DEPLOYMENTS, deployment("a", labels={"bind": "yes"})),
            (DEPLOYMENTS, deployment("b", labels={"bind": "no"}, env={"K_SINK": SINK},
                                     bound_by="sb")),
            (DEPLOYMENTS, deployment("c", labels={"bind": "no"}))],
        want_updates=[deployment("b", labels={"bind": "no"}, unbound=True),
                      deployment("a", labels={"bind": "yes"}, env={"K_SINK": SINK},
                                 bound_by="sb")]),
    Row("sink ref to a plain Service resolves to its cluster DNS name",
        key="ns/sb", objects=[
            (SINKBINDINGS, binding(finalizers=OURS, sink={"ref": {
                "apiVersion": "v1", "kind": "Service", "name": "web"}})),
            (SERVICES, {"metadata": {"name": "web", "namespace": "ns"}}),
            (DEPLOYMENTS, deployment("app"))],
        want_updates=[deployment("app", env={"K_SINK": SVC_SINK}, bound_by="sb")],
        want_status_updates=[with_status(binding(), sb_status(
            SVC_SINK, SinkProvided="True", BindingAvailable="True", Ready="True"))]),
    Row("sink that does not resolve: subjects untouched, binding not ready",
        key="ns/sb", objects=[
            (SINKBINDINGS, binding(finalizers=OURS, sink={"ref": {
                "apiVersion": "v1", "kind": "Service", "name": "nope"}})),
            (DEPLOYMENTS, deployment("app"))],
        want_status_updates=[with_status(binding(), sb_status(
            None, SinkProvided=("False", "NotFound",
                                "Sink not found: Service 'nope' not found in namespace 'ns'"),
            BindingAvailable=("Unknown", "SinkNotResolved", "waiting for the sink to resolve"),
            Ready=("False", "NotFound",
                   "Sink not found: Service 'nope' not found in namespace 'ns'")))]),
    Row("subject kind the API server does not serve",
        key="ns/sb", objects=[(SINKBINDINGS, binding(finalizers=OURS, subject={
            "apiVersion": "example.test/v1", "kind": "Widget", "name": "w"}))],
        want_status_updates=[with_status(binding(), sb_status(
            SinkProvided="True",
            BindingAvailable=("False", "SubjectKindNotServed",
                              "the API server does not serve Widget in example.test/v1"),
            Ready=("False", "SubjectKindNotServed",
                   "the API server does not serve Widget in example.test/v1")))]),
    Row("deleted binding: env removed from its subjects, then the finalizer",
        key="ns/sb", objects=[
            (SINKBINDINGS, binding(finalizers=["other", *OURS], deleting=True)),
            (DEPLOYMENTS, deployment("app", env={"K_SINK": SINK}, bound_by="sb"))],
        want_updates=[deployment("app", unbound=True)],
        want_patches=[("sinkbindings/ns/sb", {"metadata": {"finalizers": ["other"]}})]),
    Row("subject update conflicts: the whole binding is retried",
        key="ns/sb", objects=[(SINKBINDINGS, binding(finalizers=OURS, status=BOUND)),
                              (DEPLOYMENTS, deployment("app"))],
        failures=[("update", "deployments", ApiError(409, "Conflict", {"reason": "Conflict"}))],
        want_updates=[deployment("app", env={"K_SINK": SINK}, bound_by="sb")],
        # status unchanged (the binding never got as far as marking it): not written
        want_events=["Warning InternalError 409 Conflict: Conflict"],
        want_err=ApiError),
]


@pytest.mark.parametrize("row", SINKBINDING_ROWS, ids=lambda r: r.name)
async def test_sinkbinding(row: Row) -> None:
    await run_row(row, sinkbinding_factory)


# ------------------------------------------------------------------ ApiServerSource
def apiserversource(*, sink: dict | None = None, status: dict | None = None) -> dict:
    o = {"apiVersion": "sources.knative.dev/v1", "kind": "ApiServerSource",
         "metadata": {"name": "api", "namespace": "ns", "generation": 1, "uid": "api-uid"},
         "spec": {"mode": "Resource", "serviceAccountName": "watcher",
                  "resources": [{"apiVersion": "v1", "kind": "Service"}],
                  "sink": sink or {"uri": SINK}}}
    if status is not None:
        o["status"] = status
    return o


def review(verb: str) -> dict:
    return {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": {"user": "system:serviceaccount:ns:watcher", "resourceAttributes": {
                "namespace": "ns", "verb": verb, "group": "", "version": "v1",
                "resource": "services"}}}


REVIEWS = [review(v) for v in ("get", "list", "watch")]
ADAPTER = apiserver_deployment(ApiServerSource(apiserversource()), SINK, IMAGE)
AVAILABLE = {"conditions": [{"type": "Available", "status": "True"}]}
CE = [{"type": f"dev.knative.apiserver.resource.{t}", "source": FAKE_SERVER}
      for t in ("add", "update", "delete")]


def verdict(allowed: bool, only: str | None = None):
    def react(action: Action) -> dict:
        verb = action.obj["spec"]["resourceAttributes"]["verb"]
        return {**action.obj, "status": {"allowed": allowed or verb != only}}
    return [("create", "subjectaccessreviews", react)]


def api_status(sink: str | None = SINK, observed: bool = True, **c) -> dict:
    """observed: the reconcile ended without an error, so observedGeneration was set."""
    st: dict = {"ceAttributes": CE, "conditions": conds(**c)}
    if observed:
        st["observedGeneration"] = 1
    if sink:
        st["sinkUri"] = sink
    return st


def apiserversource_factory(world: World) -> ApiServerSourceReconciler:
    d = discovery(world)
    return ApiServerSourceReconciler(
        world.client, world.listers.setdefault("apiserversources", Lister(APISERVERSOURCES)),
        world.recorder, resolver=URIResolver(world.client, d),
        deployments=world.listers.setdefault("deployments", Lister(DEPLOYMENTS)),
        subjects=SubjectWatcher(world.client, d, lambda _r, _o: None), image=IMAGE)


UNAVAILABLE = ("Unknown", "DeploymentUnavailable", "the Deployment has no available replicas yet")

APISERVERSOURCE_ROWS = [
    Row("new source: permissions reviewed, adapter Deployment created",
        key="ns/api", objects=[(APISERVERSOURCES, apiserversource())],
        reactors=verdict(True),
        want_creates=[*REVIEWS, ADAPTER],
        want_status_updates=[with_status(apiserversource(), api_status(
            SinkProvided="True", SufficientPermissions="True", Deployed=UNAVAILABLE,
            Ready=UNAVAILABLE))]),
    Row("adapter available: Ready, only the reviews written",
        key="ns/api", objects=[(APISERVERSOURCES, apiserversource()),
                               (DEPLOYMENTS, {**ADAPTER, "status": AVAILABLE})],
        reactors=verdict(True),
        want_creates=REVIEWS,
        want_status_updates=[with_status(apiserversource(), api_status(
            SinkProvided="True", SufficientPermissions="True", Deployed="True",
            Ready="True"))]),
    Row("adapter Deployment made for an older sink: updated (its status kept)",
        key="ns/api", objects=[
            (APISERVERSOURCES, apiserversource()),
            (DEPLOYMENTS, {**apiserver_deployment(ApiServerSource(apiserversource()),
                                                  "http://old.test/", IMAGE),
                           "status": AVAILABLE})],
        reactors=verdict(True),
        want_creates=REVIEWS,
        want_updates=[{**ADAPTER, "status": AVAILABLE}],
        want_status_updates=[with_status(apiserversource(), api_status(
            SinkProvided="True", SufficientPermissions="True", Deployed="True",
            Ready="True"))]),
    Row("service account may not watch: SufficientPermissions False, re-checked later",
        key="ns/api", objects=[(APISERVERSOURCES, apiserversource())],
        reactors=verdict(False, only="watch"),
        want_creates=[*REVIEWS, ADAPTER],
        want_status_updates=[with_status(apiserversource(), api_status(
            observed=False, SinkProvided="True", Deployed=UNAVAILABLE,
            SufficientPermissions=("False", "InsufficientPermissions",
                                   "system:serviceaccount:ns:watcher may not watch "
                                   "services.core in ns"),
            Ready=("False", "InsufficientPermissions",
                   "system:serviceaccount:ns:watcher may not watch services.core in ns")))],
        want_err=RequeueAfter),
    Row("sink missing: no adapter until it resolves",
        key="ns/api", objects=[(APISERVERSOURCES, apiserversource(sink={"ref": {
            "apiVersion": "v1", "kind": "Service", "name": "nope"}}))],
        reactors=verdict(True),
        want_creates=REVIEWS,
        want_status_updates=[with_status(apiserversource(), api_status(
            None, SufficientPermissions="True",
            SinkProvided=("False", "NotFound",
                          "Sink not found: Service 'nope' not found in namespace 'ns'"),
            Deployed=("Unknown", "SinkNotResolved",
                      "the adapter starts once the sink resolves"),
            Ready=("False", "NotFound",
                   "Sink not found: Service 'nope' not found in namespace 'ns'")))]),
    Row("a Deployment of that name owned by someone else is refused",
        key="ns/api", objects=[
            (APISERVERSOURCES, apiserversource()),
            (DEPLOYMENTS, {"metadata": {"name": ADAPTER["metadata"]["name"],
                                        "namespace": "ns"}})],
        reactors=verdict(True),
        want_creates=REVIEWS,
        want_status_updates=[with_status(apiserversource(), api_status(
            observed=False, SinkProvided="True", SufficientPermissions="True",
            Deployed="Unknown", Ready="Unknown"))],
        want_events=[f"Warning InternalError Deployment ns/{ADAPTER['metadata']['name']} "
                     "exists and is not owned by ApiServerSource api"],
        want_err=Exception),
]


@pytest.mark.parametrize("row", APISERVERSOURCE_ROWS, ids=lambda r: r.name)
async def test_apiserversource(row: Row) -> None:
    await run_row(row, apiserversource_factory)


# ------------------------------------------------------------------ ContainerSource
def containersource() -> dict:
    return {"apiVersion": "sources.knative.dev/v1", "kind": "ContainerSource",
            "metadata": {"name": "cs", "namespace": "ns", "uid": "cs-uid", "generation": 1},
            "spec": {"template": {"spec": {"containers": [{"name": "c",
                                                           "image": "example.test/hb"}]}},
                     "sink": {"uri": SINK}}}


CS = ContainerSource(containersource())
CS_DEPLOYMENT = container_deployment(CS)
CS_BINDING = container_sinkbinding(CS, CS_DEPLOYMENT["metadata"]["name"])


def renamed(child: dict, name: str, uid: str = "cs-uid") -> dict:
    """The child under another name (an older knpy's name form), controlled by `uid`."""
    md = child["metadata"]
    refs = [{**r, "uid": uid} for r in md["ownerReferences"]]
    return {**child, "metadata": {**md, "name": name, "ownerReferences": refs}}


def containersource_factory(world: World) -> ContainerSourceReconciler:
    return ContainerSourceReconciler(
        world.client, world.listers.setdefault("containersources", Lister(CONTAINERSOURCES)),
        world.recorder, deployments=world.listers.setdefault("deployments", Lister(DEPLOYMENTS)),
        sinkbindings=world.listers.setdefault("sinkbindings", Lister(SINKBINDINGS)))


CONTAINERSOURCE_ROWS = [
    Row("new source: its Deployment and the SinkBinding that points it at the sink",
        key="ns/cs", objects=[(CONTAINERSOURCES, containersource())],
        want_creates=[CS_DEPLOYMENT, CS_BINDING],
        want_status_updates=[with_status(containersource(), {
            "observedGeneration": 1, "conditions": conds(
                Ready=("Unknown", "SinkBindingNotReady", "the SinkBinding is not ready yet"),
                ReceiveAdapterReady=("Unknown", "DeploymentUnavailable",
                                     "the Deployment has no available replicas yet"),
                SinkBindingReady=("Unknown", "SinkBindingNotReady",
                                  "the SinkBinding is not ready yet"))})]),
    Row("both children ready: Ready with the binding's sinkUri, nothing else written",
        key="ns/cs", objects=[
            (CONTAINERSOURCES, containersource()),
            (DEPLOYMENTS, {**CS_DEPLOYMENT, "status": AVAILABLE}),
            (SINKBINDINGS, {**CS_BINDING, "status": BOUND})],
        want_status_updates=[with_status(containersource(), {
            "observedGeneration": 1, "sinkUri": SINK, "conditions": conds(
                Ready="True", ReceiveAdapterReady="True", SinkBindingReady="True")})]),
    Row("children it controls under an older name form are deleted, others' are not",
        key="ns/cs", objects=[
            (CONTAINERSOURCES, containersource()),
            (DEPLOYMENTS, {**CS_DEPLOYMENT, "status": AVAILABLE}),
            (SINKBINDINGS, {**CS_BINDING, "status": BOUND}),
            (DEPLOYMENTS, renamed(CS_DEPLOYMENT, "cs-deployment-1a2b3c4d")),
            (SINKBINDINGS, renamed(CS_BINDING, "cs-sinkbinding-1a2b3c4d")),
            (DEPLOYMENTS, renamed(CS_DEPLOYMENT, "not-its-deployment", uid="other-uid"))],
        want_deletes=["deployments/ns/cs-deployment-1a2b3c4d",
                      "sinkbindings/ns/cs-sinkbinding-1a2b3c4d"],
        want_status_updates=[with_status(containersource(), {
            "observedGeneration": 1, "sinkUri": SINK, "conditions": conds(
                Ready="True", ReceiveAdapterReady="True", SinkBindingReady="True")})]),
]


@pytest.mark.parametrize("row", CONTAINERSOURCE_ROWS, ids=lambda r: r.name)
async def test_containersource(row: Row) -> None:
    await run_row(row, containersource_factory)


# ------------------------------------------------------------------ PingSource
SYS = "knpy-system"


def pingsource(sink: dict | None = None) -> dict:
    spec: dict = {"schedule": "* * * * *"}
    if sink:
        spec["sink"] = sink
    return {"apiVersion": "sources.knative.dev/v1", "kind": "PingSource",
            "metadata": {"name": "p", "namespace": "ns", "generation": 1}, "spec": spec}


def pingsource_factory(world: World) -> PingSourceReconciler:
    return PingSourceReconciler(
        world.client, world.listers.setdefault("pingsources", Lister(PINGSOURCES)),
        world.recorder, resolver=URIResolver(world.client, discovery(world)),
        deployments=world.listers.setdefault("deployments", Lister(DEPLOYMENTS)),
        system_namespace=SYS)


PING_CE = [{"type": "dev.knative.sources.ping",
            "source": "/apis/v1/namespaces/ns/pingsources/p"}]
NO_ADAPTER = ("Unknown", "AdapterUnavailable",
              f"ping adapter {SYS}/{PING_ADAPTER}: the Deployment does not exist")

PINGSOURCE_ROWS = [
    Row("no sink: SinkProvided False, the shared adapter not there either",
        key="ns/p", objects=[(PINGSOURCES, pingsource())],
        want_status_updates=[with_status(pingsource(), {
            "observedGeneration": 1, "ceAttributes": PING_CE, "conditions": conds(
                Deployed=NO_ADAPTER,
                SinkProvided=("False", "NotFound", "spec.sink is not set"),
                Ready=("False", "NotFound", "spec.sink is not set"))})]),
    Row("sink resolved and the shared adapter available: Ready, only status written",
        key="ns/p", objects=[
            (PINGSOURCES, pingsource({"uri": SINK})),
            (DEPLOYMENTS, {"metadata": {"name": PING_ADAPTER, "namespace": SYS},
                           "status": AVAILABLE})],
        want_status_updates=[with_status(pingsource(), {
            "observedGeneration": 1, "sinkUri": SINK, "ceAttributes": PING_CE,
            "conditions": conds(Deployed="True", SinkProvided="True", Ready="True")})]),
]


@pytest.mark.parametrize("row", PINGSOURCE_ROWS, ids=lambda r: r.name)
async def test_pingsource(row: Row) -> None:
    await run_row(row, pingsource_factory)
