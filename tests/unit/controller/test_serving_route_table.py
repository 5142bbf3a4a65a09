"""Table tests for the Route reconciler: traffic resolved to Revisions, the KIngress it
owns, IngressReady from the gateway's status, the placeholder Service, and the status."""

from __future__ import annotations

import copy

import pytest

from knpy.apis.networking.config_network import parse_network_config
from knpy.apis.serving.config_domain import parse_domain_config
from knpy.apis.serving.config_features import parse_features
from knpy.apis.serving.v1 import Route
from knpy.controller.serving.resources import (
    CONFIGURATIONS,
    INGRESSES,
    REVISIONS,
    ROUTES,
    SPEC_HASH_ANNOTATION,
)
from knpy.controller.serving.route import RouteReconciler
from knpy.controller.serving.route_resources import hosts_of
from knpy.runtime.k8s import SERVICES, Lister, PermanentError, Resource
from knpy.runtime.k8s.naming import spec_hash
from knpy.runtime.k8s.testing import Row, World, run_row

TLS_OFF = ("True", "TLSNotEnabled", "external-domain-tls is not enabled")
NO_INGRESS = ("Unknown", "IngressNotConfigured", "Ingress has not yet been reconciled.")
NOT_OWNED = ("False", "NotOwned", "There is an existing Ingress 'r' that we do not own.")
GATEWAY = "knpy-ingress-internal.knpy-system.svc.cluster.local"
OWNER = {"apiVersion": "serving.knative.dev/v1", "kind": "Route", "name": "r", "uid": "rt-uid",
         "controller": True, "blockOwnerDeletion": True}


def conds(**statuses: str | tuple[str, str, str]) -> list[dict]:
    return [{"type": t, "status": v} if isinstance(v, str) else
            {"type": t, "status": v[0], "reason": v[1], "message": v[2]}
            for t, v in sorted(statuses.items())]


def route(traffic: list[dict], *, labels: dict | None = None, status: dict | None = None,
          annotations: dict | None = None) -> dict:
    o = {"apiVersion": "serving.knative.dev/v1", "kind": "Route",
         "metadata": {"name": "r", "namespace": "ns", "uid": "rt-uid", "generation": 1,
                      "labels": labels or {}, "annotations": annotations or {}},
         "spec": {"traffic": traffic}}
    if status is not None:
        o["status"] = status
    return o


def revision(name: str, ready: str = "True", routes: str | None = "r",
             state: str | None = None) -> dict:
    """Already marked as routed by `routes` (None: by none) unless told otherwise."""
    md: dict = {"name": name, "namespace": "ns", "labels": {}, "annotations": {}}
    if routes:
        md["annotations"]["serving.knative.dev/routes"] = routes
    state = state or ("active" if routes else None)
    if state:
        md["labels"]["serving.knative.dev/routingState"] = state
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Revision", "metadata": md,
            "status": {"conditions": conds(Ready=ready)}}


def configuration(latest_ready: str | None, ready: str = "True") -> dict:
    st: dict = {"conditions": conds(Ready=ready)}
    if latest_ready:
        st["latestReadyRevisionName"] = latest_ready
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Configuration",
            "metadata": {"name": "c", "namespace": "ns"}, "status": st}


def split(rev: str, pct: int) -> dict:
    return {"serviceName": rev, "serviceNamespace": "ns", "servicePort": 80, "percent": pct,
            "appendHeaders": {"Knative-Serving-Revision": rev,
                              "Knative-Serving-Namespace": "ns"}}


def rules(name: str, splits: list[dict], external: bool = True) -> list[dict]:
    paths = {"paths": [{"splits": splits}]}
    out = [{"hosts": [f"{name}.ns.example.com"], "visibility": "ExternalIP", "http": paths}]
    local = [{"hosts": [f"{name}.ns", f"{name}.ns.svc", f"{name}.ns.svc.cluster.local"],
              "visibility": "ClusterLocal", "http": paths}]
    return out + local if external else local


def ingress(spec_rules: list[dict], status: dict | None = None, generation: int = 1) -> dict:
    spec = {"httpOption": "Enabled", "rules": spec_rules}
    o = {"apiVersion": "networking.internal.knative.dev/v1alpha1", "kind": "Ingress",
         "metadata": {"name": "r", "namespace": "ns", "generation": generation,
                      "labels": {"serving.knative.dev/route": "r",
                                 "serving.knative.dev/routeNamespace": "ns"},
                      "annotations": {
                          "networking.knative.dev/ingress.class":
                              "knpy.ingress.networking.knative.dev",
                          SPEC_HASH_ANNOTATION: spec_hash(spec)},
                      "ownerReferences": [OWNER]},
         "spec": spec}
    if status is not None:
        o["status"] = status
    return o


def ingress_status(ready: bool = True, observed: int = 1) -> dict:
    return {"observedGeneration": observed,
            "publicLoadBalancer": {"ingress": [{"domainInternal": "knpy-ingress.x"}]},
            "privateLoadBalancer": {"ingress": [{"domainInternal": GATEWAY}]},
            "conditions": conds(LoadBalancerReady="True", NetworkConfigured="True",
                                Ready="True" if ready else "Unknown")}


def placeholder(name: str = "r", labels: dict | None = None,
                annotations: dict | None = None) -> dict:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "ns",
                         "labels": {**(labels or {}), "serving.knative.dev/route": "r",
                                    "serving.knative.dev/routeNamespace": "ns"},
                         "annotations": annotations or {},
                         "ownerReferences": [OWNER]},
            "spec": {"type": "ExternalName", "externalName": GATEWAY,
                     "sessionAffinity": "None",
                     "ports": [{"name": "http2", "port": 80, "protocol": "TCP",
                                "targetPort": 80}]}}


NOW = "2026-01-01T00:00:00Z"
LATEST = [{"configurationName": "c", "latestRevision": True, "percent": 100}]
URLS = {"url": "http://r.ns.example.com", "address": {"url": "http://r.ns.svc.cluster.local"}}
LATEST_TRAFFIC = {"traffic": [{"revisionName": "c-00001", "latestRevision": True,
                               "percent": 100}]}


def status(traffic: dict | None = None, **c: str | tuple[str, str, str]) -> dict:
    return {"observedGeneration": 1, **URLS, **(traffic or {}),
            "conditions": conds(CertificateProvisioned=TLS_OFF, **c)}


def lister(world: World, res: Resource) -> Lister:
    return world.listers.setdefault(res.plural, Lister(res))


def factory(world: World, features: dict | None = None) -> RouteReconciler:
    return RouteReconciler(
        world.client, lister(world, ROUTES), world.recorder,
        configurations=lister(world, CONFIGURATIONS), revisions=lister(world, REVISIONS),
        ingresses=lister(world, INGRESSES), services=lister(world, SERVICES),
        config=lambda: (parse_network_config({}), parse_domain_config({}), "cluster.local",
                        parse_features(features)),
        clock=lambda: NOW)


def with_status(o: dict, st: dict) -> dict:
    return {**copy.deepcopy(o), "status": st}


def no_gen(o: dict) -> dict:
    o = copy.deepcopy(o)
    o["metadata"].pop("generation", None)
    return o


HALVES = [{"revisionName": "r-1", "percent": 50}, {"revisionName": "r-2", "percent": 50,
                                                   "tag": "canary"}]
ROWS = [
    Row("latest ready revision of a Configuration: KIngress created, waits for it",
        key="ns/r", objects=[(ROUTES, route(LATEST)), (CONFIGURATIONS, configuration("c-00001")),
                             (REVISIONS, revision("c-00001"))],
        want_creates=[no_gen(ingress(rules("r", [split("c-00001", 100)])))],
        want_status_updates=[with_status(route(LATEST), status(
            LATEST_TRAFFIC, AllTrafficAssigned="True", IngressReady=NO_INGRESS,
            Ready=NO_INGRESS))]),
    Row("the gateway programmed this generation: Ready, placeholder Service created",
        key="ns/r", objects=[
            (ROUTES, route(LATEST)), (CONFIGURATIONS, configuration("c-00001")),
            (REVISIONS, revision("c-00001")),
            (INGRESSES, ingress(rules("r", [split("c-00001", 100)]), ingress_status()))],
        want_creates=[placeholder()],
        want_status_updates=[with_status(route(LATEST), status(
            LATEST_TRAFFIC, AllTrafficAssigned="True", IngressReady="True", Ready="True"))]),
    Row("the Route's labels and annotations (its Service's) reach the placeholder Service, "
        "kubectl's last-applied record excepted", key="ns/r", objects=[
            (ROUTES, route(LATEST, labels={"serving.knative.dev/service": "r", "juicy": "j"},
                           annotations={"serving.knative.dev/creator": "alice",
                                        "kubectl.kubernetes.io/last-applied-configuration":
                                        "{}"})),
            (CONFIGURATIONS, configuration("c-00001")), (REVISIONS, revision("c-00001")),
            (INGRESSES, ingress(rules("r", [split("c-00001", 100)]), ingress_status())),
            (SERVICES, placeholder())],
        want_updates=[placeholder(labels={"serving.knative.dev/service": "r", "juicy": "j"},
                                  annotations={"serving.knative.dev/creator": "alice"})],
        want_status_updates=[with_status(
            route(LATEST, labels={"serving.knative.dev/service": "r", "juicy": "j"}),
            status(LATEST_TRAFFIC, AllTrafficAssigned="True", IngressReady="True",
                   Ready="True"))]),
    Row("a label the Route dropped stays on the placeholder Service (added, never taken "
        "away, as Knative's conformance expects): nothing to update", key="ns/r", objects=[
            (ROUTES, route(LATEST)), (CONFIGURATIONS, configuration("c-00001")),
            (REVISIONS, revision("c-00001")),
            (INGRESSES, ingress(rules("r", [split("c-00001", 100)]), ingress_status())),
            (SERVICES, placeholder(labels={"juicy": "j"}, annotations={"juicy": "j"}))],
        want_status_updates=[with_status(route(LATEST), status(
            LATEST_TRAFFIC, AllTrafficAssigned="True", IngressReady="True", Ready="True"))]),
    Row("Ready for an older generation only: not Ready yet",
        key="ns/r", objects=[
            (ROUTES, route(LATEST)), (CONFIGURATIONS, configuration("c-00001")),
            (REVISIONS, revision("c-00001")),
            (INGRESSES, ingress(rules("r", [split("c-00001", 100)]), ingress_status(),
                                generation=2)),
            (SERVICES, placeholder())],
        want_status_updates=[with_status(route(LATEST), status(
            LATEST_TRAFFIC, AllTrafficAssigned="True", IngressReady=NO_INGRESS,
            Ready=NO_INGRESS))]),
    Row("a missing Configuration: ConfigurationMissing, nothing programmed",
        key="ns/r", objects=[(ROUTES, route(LATEST))],
        want_status_updates=[with_status(route(LATEST), status(
            AllTrafficAssigned=("False", "ConfigurationMissing",
                                "Configuration 'c' referenced in traffic not found."),
            IngressReady="Unknown",
            Ready=("False", "ConfigurationMissing",
                   "Configuration 'c' referenced in traffic not found.")))]),
    Row("a Configuration with no ready Revision yet: RevisionMissing, Unknown",
        key="ns/r", objects=[(ROUTES, route(LATEST)),
                             (CONFIGURATIONS, configuration(None, "Unknown"))],
        want_status_updates=[with_status(route(LATEST), status(
            AllTrafficAssigned=("Unknown", "RevisionMissing",
                                "Configuration 'c' is waiting for a Revision to become "
                                "ready."),
            IngressReady="Unknown",
            Ready=("Unknown", "RevisionMissing",
                   "Configuration 'c' is waiting for a Revision to become ready.")))]),
    Row("a missing Revision wins over one that is not ready yet",
        key="ns/r", objects=[
            (ROUTES, route([{"revisionName": "r-1", "percent": 50},
                            {"revisionName": "gone", "percent": 50}])),
            (REVISIONS, revision("r-1", "Unknown"))],
        want_status_updates=[with_status(route([{"revisionName": "r-1", "percent": 50},
                                                {"revisionName": "gone", "percent": 50}]),
                                         status(
            AllTrafficAssigned=("False", "RevisionMissing",
                                "Revision 'gone' referenced in traffic not found."),
            IngressReady="Unknown",
            Ready=("False", "RevisionMissing",
                   "Revision 'gone' referenced in traffic not found.")))]),
    Row("a 50/50 split with a tag: one split per revision, and the tag's own host",
        key="ns/r", objects=[(ROUTES, route(HALVES)), (REVISIONS, revision("r-1")),
                             (REVISIONS, revision("r-2"))],
        want_creates=[no_gen(ingress(rules("r", [split("r-1", 50), split("r-2", 50)])
                                     + rules("canary-r", [split("r-2", 100)])))],
        want_status_updates=[with_status(route(HALVES), status(
            {"traffic": [{"revisionName": "r-1", "latestRevision": False, "percent": 50},
                         {"revisionName": "r-2", "latestRevision": False, "percent": 50,
                          "tag": "canary", "url": "http://canary-r.ns.example.com"}]},
            AllTrafficAssigned="True", IngressReady=NO_INGRESS, Ready=NO_INGRESS))]),
    Row("routed Revisions turn active, one no longer routed turns reserve, others stay "
        "(another Route's pending Revision is that Route's to make active)",
        key="ns/r", objects=[
            (ROUTES, route([{"revisionName": "new", "percent": 100}])),
            (REVISIONS, revision("new", routes=None, state="pending")),
            (REVISIONS, revision("old")), (REVISIONS, revision("shared", routes="other,r")),
            (REVISIONS, revision("elsewhere", routes="other")),
            (REVISIONS, revision("theirs", routes="other", state="pending")),
            (REVISIONS, revision("never", routes=None, state="pending")),
            (INGRESSES, ingress(rules("r", [split("new", 100)])))],
        want_patches=[
            ("revisions/ns/new", {"metadata": {
                "annotations": {"serving.knative.dev/routes": "r",
                                "serving.knative.dev/routingStateModified": NOW},
                "labels": {"serving.knative.dev/routingState": "active"}}}),
            ("revisions/ns/old", {"metadata": {
                "annotations": {"serving.knative.dev/routes": None,
                                "serving.knative.dev/routingStateModified": NOW},
                "labels": {"serving.knative.dev/routingState": "reserve"}}}),
            ("revisions/ns/shared", {"metadata": {
                "annotations": {"serving.knative.dev/routes": "other"}}})],
        want_status_updates=[with_status(route([{"revisionName": "new", "percent": 100}]),
                                         status(
            {"traffic": [{"revisionName": "new", "latestRevision": False, "percent": 100}]},
            AllTrafficAssigned="True", IngressReady=NO_INGRESS, Ready=NO_INGRESS))]),
]


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.name)
async def test_route(row: Row) -> None:
    await run_row(row, factory)


async def test_cluster_local_route_has_only_cluster_local_hosts() -> None:
    local = {"networking.knative.dev/visibility": "cluster-local"}
    r = route(LATEST, labels=local)
    await run_row(Row(
        "cluster-local", key="ns/r", objects=[
            (ROUTES, r), (CONFIGURATIONS, configuration("c-00001")),
            (REVISIONS, revision("c-00001"))],
        want_creates=[no_gen(ingress(rules("r", [split("c-00001", 100)], external=False)))],
        want_status_updates=[with_status(r, {
            **status(LATEST_TRAFFIC, AllTrafficAssigned="True", IngressReady=NO_INGRESS,
                     Ready=NO_INGRESS), "url": "http://r.ns.svc.cluster.local"})]), factory)


async def test_a_kingress_of_that_name_it_does_not_own_is_refused() -> None:
    theirs = ingress(rules("r", []))
    theirs["metadata"]["ownerReferences"] = []
    unobserved = status(LATEST_TRAFFIC, AllTrafficAssigned="True", IngressReady=NOT_OWNED,
                        Ready=NOT_OWNED)
    del unobserved["observedGeneration"]  # the reconcile failed
    await run_row(Row(
        "not owned", key="ns/r", objects=[
            (ROUTES, route(LATEST)), (CONFIGURATIONS, configuration("c-00001")),
            (REVISIONS, revision("c-00001")), (INGRESSES, theirs)],
        want_status_updates=[with_status(route(LATEST), unobserved)], want_err=PermanentError,
        want_events=["Warning InternalError Ingress ns/r exists and is not owned by Route r"]),
        factory)


def test_url_scheme_and_domain_come_from_config_network_and_config_domain() -> None:
    network = parse_network_config({"default-external-scheme": "https",
                                    "domain-template": "{{.Name}}-{{.Namespace}}.{{.Domain}}"})
    domains = parse_domain_config({"apps.example.org": "",
                                   "public.example.org": "selector: {app: public}"})
    hosts = hosts_of(Route(route([])), ["v1"], network, domains, "corp.local")
    assert (hosts.url(), hosts.url("v1"), hosts.local[""]) == (
        "https://r-ns.apps.example.org", "https://v1-r-ns.apps.example.org",
        "r.ns.svc.corp.local")
    public = hosts_of(Route(route([], labels={"app": "public"})), [], network, domains,
                      "corp.local")
    assert public.url() == "https://r-ns.public.example.org"
    local = hosts_of(Route(route([], labels={"networking.knative.dev/visibility":
                                             "cluster-local"})), [], network, domains,
                     "corp.local")
    assert (local.external, local.url()) == ({}, "http://r.ns.svc.corp.local")


async def test_tag_header_routing_adds_a_header_matched_path_per_tag() -> None:
    """config-features tag-header-based-routing: Enabled -- Knative's KIngress shape: the
    Route's own rules match `Knative-Serving-Tag: <tag>` first, their catch-all appends
    Knative-Serving-Default-Route, and a tag host's path appends its tag."""
    main = [{"headers": {"Knative-Serving-Tag": {"exact": "canary"}},
             "splits": [split("r-2", 100)]},
            {"splits": [split("r-1", 50), split("r-2", 50)],
             "appendHeaders": {"Knative-Serving-Default-Route": "true"}}]
    tag = [{"splits": [split("r-2", 100)], "appendHeaders": {"Knative-Serving-Tag": "canary"}}]

    def with_paths(rs: list[dict], paths: list[dict]) -> list[dict]:
        return [{**r, "http": {"paths": paths}} for r in rs]

    want = ingress(with_paths(rules("r", []), main) + with_paths(rules("canary-r", []), tag))
    await run_row(Row(
        "tag header", key="ns/r", objects=[(ROUTES, route(HALVES)), (REVISIONS, revision("r-1")),
                                           (REVISIONS, revision("r-2"))],
        want_creates=[no_gen(want)],
        want_status_updates=[with_status(route(HALVES), status(
            {"traffic": [{"revisionName": "r-1", "latestRevision": False, "percent": 50},
                         {"revisionName": "r-2", "latestRevision": False, "percent": 50,
                          "tag": "canary", "url": "http://canary-r.ns.example.com"}]},
            AllTrafficAssigned="True", IngressReady=NO_INGRESS, Ready=NO_INGRESS))]),
        lambda w: factory(w, {"tag-header-based-routing": "Enabled"}))
