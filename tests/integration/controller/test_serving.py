"""Serving's reconcilers against a real kube-apiserver (1.20, no kubelet, no
kube-controller-manager): a ksvc becomes a Configuration and a Route, the Configuration a
Revision per template change, the Revision a Deployment with the queue-proxy sidecar, a
PodAutoscaler and a ServerlessService. Pods never run here, so the Deployment's status is
written by hand through its status subresource to drive the Revision's readiness."""

from __future__ import annotations

import copy

import pytest

from knpy.controller.serving.resources import (
    CONFIGURATIONS,
    DEPLOYMENTS,
    INGRESSES,
    KSERVICES,
    PODAUTOSCALERS,
    REVISIONS,
    ROUTES,
    SERVERLESSSERVICES,
)
from knpy.runtime.k8s import CONFIGMAPS, SERVICES, Client
from tests.support.apiserver import CRDS, controller_app, get_or_none, install_crds
from tests.support.cluster import KubeAPI
from tests.support.poll import eventually

pytestmark = pytest.mark.timeout(120)

SERVING_KINDS = ("services.serving.knative.dev", "configurations.serving.knative.dev",
                 "revisions.serving.knative.dev", "routes.serving.knative.dev",
                 "podautoscalers.autoscaling.internal.knative.dev",
                 "serverlessservices.networking.internal.knative.dev",
                 "ingresses.networking.internal.knative.dev",
                 "domainmappings.serving.knative.dev",
                 "clusterdomainclaims.networking.internal.knative.dev")
QP = "dev.local/knpy/queue-proxy:dev"


@pytest.fixture
async def controller(kube_crds: KubeAPI, client: Client):
    install_crds(kube_crds, CRDS / "serving.yaml", SERVING_KINDS)
    async with controller_app(kube_crds, client) as running:
        yield running


def cond(obj: dict | None, type_: str) -> dict:
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c["type"] == type_:
            return c
    return {}


def ksvc(ns: str, target: str) -> dict:
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
            "metadata": {"name": "hello", "namespace": ns},
            "spec": {"template": {
                "metadata": {"annotations": {"autoscaling.knative.dev/target": "10"}},
                "spec": {"containerConcurrency": 0, "timeoutSeconds": 300, "containers": [{
                    "name": "user-container", "image": "dev.local/knpy/helloworld:dev",
                    "ports": [{"name": "http1", "containerPort": 8080}],
                    "env": [{"name": "TARGET", "value": target}]}]}},
                "traffic": [{"percent": 100, "latestRevision": True}]}}


async def test_ksvc_to_ready_revision_and_a_second_revision(controller, client: Client,
                                                           namespace: str) -> None:
    _app, system = controller
    ns = namespace

    async def get(res, name):
        return await get_or_none(client, res, ns, name)

    await client.create(CONFIGMAPS, {"apiVersion": "v1", "kind": "ConfigMap",
                                     "metadata": {"name": "config-deployment",
                                                  "namespace": system},
                                     "data": {"queue-sidecar-image": QP}})
    svc = await client.create(KSERVICES, ksvc(ns, "World"))

    # the Service's children, owned by it
    cfg = await eventually(lambda: get(CONFIGURATIONS, "hello"), 30, "the Configuration")
    route = await eventually(lambda: get(ROUTES, "hello"), 30, "the Route")
    for child in (cfg, route):
        ref = child["metadata"]["ownerReferences"][0]
        assert (ref["kind"], ref["uid"], ref["controller"]) == (
            "Service", svc["metadata"]["uid"], True)

    # the Configuration's first Revision, and the Revision's Deployment, PA and SKS
    rev = await eventually(lambda: get(REVISIONS, "hello-00001"), 30, "Revision 00001")
    labels = rev["metadata"]["labels"]
    assert (labels["serving.knative.dev/configuration"], labels["serving.knative.dev/service"],
            labels["serving.knative.dev/configurationGeneration"]) == ("hello", "hello", "1")
    dep = await eventually(lambda: get(DEPLOYMENTS, "hello-00001-deployment"), 30,
                           "the Deployment")
    pod = dep["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["containers"]] == ["user-container", "queue-proxy"]
    qp = pod["containers"][1]
    env = {e["name"]: e.get("value") for e in qp["env"]}
    assert (qp["image"], env["USER_PORT"], env["SERVING_REVISION"]) == (QP, "8080",
                                                                         "hello-00001")
    assert dep["spec"]["replicas"] == 1
    pa = await eventually(lambda: get(PODAUTOSCALERS, "hello-00001"), 30, "the PA")
    assert pa["spec"]["scaleTargetRef"]["name"] == "hello-00001-deployment"
    sks = await eventually(lambda: get(SERVERLESSSERVICES, "hello-00001"), 30, "the SKS")
    assert sks["spec"]["mode"] == "Proxy"

    # no Revision is Ready yet: the Route says so and programs nothing
    await eventually(lambda: _reason(get(ROUTES, "hello"), "Ready", "RevisionMissing"), 30,
                     "the Route's reason")
    assert await get(INGRESSES, "hello") is None

    # pods would come up: Deployment status by hand -> Revision Ready -> latestReady
    dep = await get(DEPLOYMENTS, "hello-00001-deployment")
    dep["status"] = {"observedGeneration": dep["metadata"]["generation"], "replicas": 1,
                     "readyReplicas": 1, "availableReplicas": 1, "updatedReplicas": 1,
                     "conditions": [{"type": "Progressing", "status": "True",
                                     "reason": "NewReplicaSetAvailable",
                                     "message": "progressed"},
                                    {"type": "Available", "status": "True",
                                     "reason": "MinimumReplicasAvailable",
                                     "message": "available"}]}
    await client.update_status(DEPLOYMENTS, dep)
    await eventually(lambda: _status(get(REVISIONS, "hello-00001"), "Ready", "True"), 30,
                     "Revision 00001 Ready")
    cfg = await eventually(lambda: _latest_ready(get(CONFIGURATIONS, "hello"), "hello-00001"),
                           30, "Configuration latestReady")
    assert cond(cfg, "Ready")["status"] == "True"
    svc = await eventually(lambda: _latest_ready(get(KSERVICES, "hello"), "hello-00001"), 30,
                           "Service latestReady")
    assert cond(svc, "ConfigurationsReady")["status"] == "True"
    await eventually(lambda: _reason(get(KSERVICES, "hello"), "Ready", "IngressNotConfigured"),
                     30, "the Service waits for its Route's ingress")
    ing = await eventually(lambda: get(INGRESSES, "hello"), 30, "the KIngress")
    (split,) = ing["spec"]["rules"][0]["http"]["paths"][0]["splits"]
    assert (ing["spec"]["rules"][0]["hosts"], split["serviceName"], split["percent"]) == (
        [f"hello.{ns}.example.com"], "hello-00001", 100)

    # the gateway would program it: its status, as the gateway writes it
    gw = "knpy-ingress.knpy-system.svc.cluster.local"
    ing["status"] = {"observedGeneration": ing["metadata"]["generation"],
                     "publicLoadBalancer": {"ingress": [{"domainInternal": gw}]},
                     "privateLoadBalancer": {"ingress": [{"domainInternal": gw}]},
                     "conditions": [{"type": t, "status": "True"} for t in (
                         "LoadBalancerReady", "NetworkConfigured", "Ready")]}
    await client.update_status(INGRESSES, ing)
    svc = await eventually(lambda: _status(get(KSERVICES, "hello"), "Ready", "True"), 30,
                           "the Service Ready")
    assert (svc["status"]["url"], svc["status"]["address"]["url"]) == (
        f"http://hello.{ns}.example.com", f"http://hello.{ns}.svc.cluster.local")
    assert svc["status"]["traffic"] == [{"revisionName": "hello-00001",
                                         "latestRevision": True, "percent": 100}]
    # the routed Revision is marked active (GC keeps it; its PA is Reachable)
    rev = await get(REVISIONS, "hello-00001")
    assert rev["metadata"]["labels"]["serving.knative.dev/routingState"] == "active"
    assert rev["metadata"]["annotations"]["serving.knative.dev/routes"] == "hello"
    await eventually(lambda: _reachable(get(PODAUTOSCALERS, "hello-00001")), 30,
                     "the PA Reachable")
    placeholder = await eventually(lambda: get(SERVICES, "hello"), 30,
                                   "the placeholder Service")
    assert (placeholder["spec"]["type"], placeholder["spec"]["externalName"]) == (
        "ExternalName", gw)

    # a template change: Revision 00002; latestReady stays on 00001 until it is Ready
    svc = await get(KSERVICES, "hello")
    svc["spec"] = copy.deepcopy(ksvc(ns, "Knative")["spec"])
    await client.update(KSERVICES, svc)
    rev2 = await eventually(lambda: get(REVISIONS, "hello-00002"), 30, "Revision 00002")
    assert rev2["spec"]["containers"][0]["env"] == [{"name": "TARGET", "value": "Knative"}]
    cfg = await eventually(lambda: _latest_created(get(CONFIGURATIONS, "hello"),
                                                   "hello-00002"), 30, "latestCreated 00002")
    assert cfg["status"]["latestReadyRevisionName"] == "hello-00001"
    await eventually(lambda: get(DEPLOYMENTS, "hello-00002-deployment"), 30,
                     "the second Deployment")

    # config-deployment applies live: the queue-proxy image of every Deployment follows
    cm = await client.get(CONFIGMAPS, system, "config-deployment")
    cm["data"] = {"queue-sidecar-image": "dev.local/knpy/queue-proxy:v2"}
    await client.update(CONFIGMAPS, cm)
    await eventually(lambda: _qp_image(get(DEPLOYMENTS, "hello-00001-deployment"),
                                       "dev.local/knpy/queue-proxy:v2"), 30, "new QP image")


async def _reachable(obj_aw):
    obj = await obj_aw
    return obj if (obj or {}).get("spec", {}).get("reachability") == "Reachable" else None


async def _status(obj_aw, type_: str, status: str):
    obj = await obj_aw
    return obj if cond(obj, type_).get("status") == status else None


async def _reason(obj_aw, type_: str, reason: str):
    obj = await obj_aw
    return obj if cond(obj, type_).get("reason") == reason else None


async def _latest_ready(obj_aw, name: str):
    obj = await obj_aw
    return obj if ((obj or {}).get("status") or {}).get("latestReadyRevisionName") == name \
        else None


async def _latest_created(obj_aw, name: str):
    obj = await obj_aw
    return obj if ((obj or {}).get("status") or {}).get("latestCreatedRevisionName") == name \
        else None


async def _qp_image(obj_aw, image: str):
    obj = await obj_aw
    containers = obj["spec"]["template"]["spec"]["containers"] if obj else []
    return obj if containers and containers[-1]["image"] == image else None
