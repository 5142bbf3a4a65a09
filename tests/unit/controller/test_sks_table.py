"""Table tests for the ServerlessService reconciler: a world (SKS, its Services and
Endpoints, the activator's Endpoints) + a key -> every write and the status."""

from __future__ import annotations

import copy

import pytest

from knpy.controller.serving.sks import SKS, ServerlessServiceReconciler
from knpy.controller.serving.sks_resources import ENDPOINTS
from knpy.runtime.k8s import SERVICES, Lister
from knpy.runtime.k8s.testing import Row, World, run_row

SYSTEM = "knpy-system"
REV = {"serving.knative.dev/revision": "r", "serving.knative.dev/service": "s"}
OWNER = [{"apiVersion": "networking.internal.knative.dev/v1alpha1",
          "kind": "ServerlessService", "name": "r", "uid": "uid-1", "controller": True,
          "blockOwnerDeletion": True}]
PUB = {**REV, "networking.internal.knative.dev/serviceType": "Public"}
PRIV = {**REV, "networking.internal.knative.dev/serviceType": "Private"}
METRICS = [{"name": "http-autometric", "protocol": "TCP", "port": 9090, "targetPort": 9090},
           {"name": "http-usermetric", "protocol": "TCP", "port": 9091, "targetPort": 9091},
           {"name": "http-queueadm", "protocol": "TCP", "port": 8022, "targetPort": 8022}]
HTTP = {"name": "http", "protocol": "TCP", "port": 80, "targetPort": 8012}
H2C = {"name": "http2", "protocol": "TCP", "port": 81, "targetPort": 8013}


def sks(mode: str = "Serve", protocol: str = "http1", status: dict | None = None) -> dict:
    o = {"apiVersion": "networking.internal.knative.dev/v1alpha1",
         "kind": "ServerlessService",
         "metadata": {"name": "r", "namespace": "ns", "uid": "uid-1", "generation": 1,
                      "labels": REV},
         "spec": {"mode": mode, "protocolType": protocol,
                  "objectRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                "name": "r-deployment"}}}
    if status is not None:
        o["status"] = status
    return o


def meta(name: str, labels: dict, owned: bool = True) -> dict:
    md = {"name": name, "namespace": "ns", "labels": labels}
    if owned:
        md["ownerReferences"] = OWNER
    return md


def private_svc(port: dict = HTTP) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta("r-private", PRIV),
            "spec": {"selector": {"serving.knative.dev/revision": "r"},
                     "ports": [port, *METRICS]}}


def public_svc(port: dict = HTTP, owned: bool = True) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta("r", PUB, owned),
            "spec": {"ports": [port]}}


def public_eps(*ips: str, port: int = 8012, name: str = "http") -> dict:
    subsets = [{"addresses": [{"ip": ip} for ip in ips],
                "ports": [{"name": name, "port": port, "protocol": "TCP"}]}] if ips else []
    return {"apiVersion": "v1", "kind": "Endpoints", "metadata": meta("r", PUB),
            "subsets": subsets}


def pod_eps(*ips: str, not_ready: tuple[str, ...] = ()) -> dict:
    # as the endpoints controller writes them for the private Service
    return {"apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": "r-private", "namespace": "ns", "labels": PRIV},
            "subsets": [{"addresses": [{"ip": ip, "targetRef": {"kind": "Pod", "name": ip}}
                                       for ip in ips],
                         "notReadyAddresses": [{"ip": ip} for ip in not_ready],
                         "ports": [{"name": "http", "port": 8012, "protocol": "TCP"},
                                   {"name": "http-autometric", "port": 9090,
                                    "protocol": "TCP"}]}]}


def activator_eps(*ips: str) -> dict:
    return {"apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": "activator-service", "namespace": SYSTEM},
            "subsets": [{"addresses": [{"ip": ip} for ip in ips],
                         "ports": [{"name": "http", "port": 8012, "protocol": "TCP"},
                                   {"name": "http2", "port": 8013, "protocol": "TCP"}]}]}


def status(endpoints: str | tuple[str, str, str], activator: str | None) -> dict:
    ep = ({"type": "EndpointsPopulated", "status": endpoints} if isinstance(endpoints, str)
          else {"type": "EndpointsPopulated", "status": endpoints[0], "reason": endpoints[1],
                "message": endpoints[2]})
    ready = {**ep, "type": "Ready"}
    conds = [ep, ready]
    if activator is not None:
        conds.append({"type": "ActivatorEndpointsPopulated", "status": activator,
                      "reason": "ActivatorEndpointsPopulated",
                      "message": "Revision is backed by Activator"})
    conds.sort(key=lambda c: c["type"])
    return {"serviceName": "r", "privateServiceName": "r-private", "conditions": conds,
            "observedGeneration": 1}


def with_status(o: dict, st: dict) -> dict:
    o = copy.deepcopy(o)
    o["status"] = st
    return o


def factory(world: World) -> ServerlessServiceReconciler:
    return ServerlessServiceReconciler(
        world.client, world.listers["serverlessservices"], world.recorder,
        services=world.listers.get("services") or Lister(SERVICES),
        endpoints=world.listers.get("endpoints") or Lister(ENDPOINTS),
        activator_endpoints=world.listers.get("endpoints") or Lister(ENDPOINTS),
        system_namespace=SYSTEM)


SERVING = status("True", "False")
PROXYING = status("True", "True")
NO_BACKEND = status(("Unknown", "NoHealthyBackends", "K8s Service is not ready"), "True")

ROWS = [
    Row("new SKS, no pod yet: children created, the activator backs it", "ns/r",
        objects=[(SKS, sks()), (ENDPOINTS, activator_eps("10.1.0.1", "10.1.0.2"))],
        want_creates=[private_svc(), public_svc(), public_eps("10.1.0.1", "10.1.0.2")],
        want_status_updates=[with_status(sks(), PROXYING)]),
    Row("Serve with ready pods: public Endpoints switch to the pods", "ns/r",
        objects=[(SKS, sks(status=PROXYING)), (SERVICES, private_svc()), (SERVICES, public_svc()),
                 (ENDPOINTS, public_eps("10.1.0.1")), (ENDPOINTS, activator_eps("10.1.0.1")),
                 (ENDPOINTS, pod_eps("10.0.0.2", "10.0.0.1", not_ready=("10.0.0.9",)))],
        want_updates=[{**public_eps(), "subsets": [{
            "addresses": [{"ip": "10.0.0.2", "targetRef": {"kind": "Pod", "name": "10.0.0.2"}},
                          {"ip": "10.0.0.1", "targetRef": {"kind": "Pod", "name": "10.0.0.1"}}],
            "ports": [{"name": "http", "port": 8012, "protocol": "TCP"}]}]}],
        want_status_updates=[with_status(sks(), SERVING)]),
    Row("Proxy with ready pods: public Endpoints switch to the activator", "ns/r",
        objects=[(SKS, sks("Proxy", status=SERVING)), (SERVICES, private_svc()),
                 (SERVICES, public_svc()), (ENDPOINTS, public_eps("10.0.0.1")),
                 (ENDPOINTS, activator_eps("10.1.0.1")), (ENDPOINTS, pod_eps("10.0.0.1"))],
        want_updates=[public_eps("10.1.0.1")],
        want_status_updates=[with_status(sks("Proxy"), PROXYING)]),
    Row("steady state in Proxy: no write", "ns/r",
        objects=[(SKS, sks("Proxy", status=PROXYING)), (SERVICES, private_svc()),
                 (SERVICES, public_svc()), (ENDPOINTS, public_eps("10.1.0.1")),
                 (ENDPOINTS, activator_eps("10.1.0.1")), (ENDPOINTS, pod_eps("10.0.0.1"))]),
    Row("a private Service left under an older name form is deleted, the public one kept",
        "ns/r",
        objects=[(SKS, sks("Proxy", status=PROXYING)), (SERVICES, private_svc()),
                 (SERVICES, {**private_svc(), "metadata": meta("r-1a2b3c4d-private", PRIV)}),
                 (SERVICES, public_svc()), (ENDPOINTS, public_eps("10.1.0.1")),
                 (ENDPOINTS, activator_eps("10.1.0.1")), (ENDPOINTS, pod_eps("10.0.0.1"))],
        want_deletes=["services/ns/r-1a2b3c4d-private"]),
    Row("Serve but the last pod went: back to the activator", "ns/r",
        objects=[(SKS, sks(status=SERVING)), (SERVICES, private_svc()),
                 (SERVICES, public_svc()), (ENDPOINTS, public_eps("10.0.0.1")),
                 (ENDPOINTS, activator_eps("10.1.0.1")),
                 (ENDPOINTS, pod_eps(not_ready=("10.0.0.1",)))],
        want_updates=[public_eps("10.1.0.1")],
        want_status_updates=[with_status(sks(), PROXYING)]),
    Row("no pod and no activator: EndpointsPopulated Unknown", "ns/r",
        objects=[(SKS, sks("Proxy")), (SERVICES, private_svc()), (SERVICES, public_svc())],
        want_creates=[public_eps()],
        want_status_updates=[with_status(sks("Proxy"), NO_BACKEND)]),
    Row("drifted private Service is put back", "ns/r",
        objects=[(SKS, sks("Proxy", status=PROXYING)),
                 (SERVICES, {**private_svc(), "spec": {"selector": {"app": "x"},
                                                       "ports": [HTTP],
                                                       "clusterIP": "10.96.0.5"}}),
                 (SERVICES, public_svc()), (ENDPOINTS, public_eps("10.1.0.1")),
                 (ENDPOINTS, activator_eps("10.1.0.1"))],
        want_updates=[{**private_svc(), "spec": {**private_svc()["spec"],
                                                 "clusterIP": "10.96.0.5"}}]),
    Row("h2c: ports http2 81 -> 8013, the activator's http2 port", "ns/r",
        objects=[(SKS, sks(protocol="h2c")), (ENDPOINTS, activator_eps("10.1.0.1"))],
        want_creates=[private_svc(H2C), public_svc(H2C),
                      public_eps("10.1.0.1", port=8013, name="http2")],
        want_status_updates=[with_status(sks(protocol="h2c"), PROXYING)]),
    Row("public Service owned by someone else: NotOwned, nothing overwritten", "ns/r",
        objects=[(SKS, sks()), (SERVICES, private_svc()), (SERVICES, public_svc(owned=False))],
        want_status_updates=[with_status(sks(), {
            "conditions": [
                {"type": "EndpointsPopulated", "status": "False", "reason": "NotOwned",
                 "message": "Resource r of type Service is not owned by SKS"},
                {"type": "Ready", "status": "False", "reason": "NotOwned",
                 "message": "Resource r of type Service is not owned by SKS"}]})],
        want_events=["Warning InternalError Service r exists and is not owned by the SKS"],
        want_err=Exception),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
async def test_sks_rows(row: Row) -> None:
    await run_row(row, factory)


def test_a_long_revision_gets_a_private_service_name_that_fits_and_maps_back() -> None:
    from knpy.controller.serving.sks import _endpoints_keys
    from knpy.controller.serving.sks_resources import private_name

    rev = "revision-timeout-does-not-exceed-timeout--lamvvcyd-00001"
    name = private_name(rev)
    assert len(name) <= 63 and name.endswith("-private")
    # the endpoints controller copies the private Service's labels, the revision's among them
    eps = {"metadata": {"name": name, "namespace": "ns", "labels": {
        **PRIV, "serving.knative.dev/revision": rev}}}
    assert _endpoints_keys(eps) == [f"ns/{rev}"]
