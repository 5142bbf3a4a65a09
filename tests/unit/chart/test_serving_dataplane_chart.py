"""charts/knpy's Serving data plane: the activator, autoscaler and ingress gateway
Deployments and their Services, the RBAC each Serving component needs, the queue-proxy image in
config-deployment, the on/off switches and image digests (helm template, 1.20 and current)."""

from __future__ import annotations

from typing import Any

import pytest

from knpy.apis.serving.config_deployment import parse_deployment_config
from tests.unit.chart.test_knpy_chart import HELM, Objects, container, fail, render

pytestmark = pytest.mark.skipif(not HELM.exists(), reason="helm not installed: make kube-tools")

CURRENT = ("--api-versions", "policy/v1/PodDisruptionBudget",
           "--api-versions", "discovery.k8s.io/v1/EndpointSlice")
WRITE = {"create", "update", "patch", "delete"}


def allowed(objs: Objects, sa: str, group: str, resource: str, verb: str,
            namespace: str = "knpy-system") -> bool:
    """What RBAC would decide for ServiceAccount `sa`: the rules of every (Cluster)Role
    bound to it, namespaced Roles only in their namespace."""
    for (kind, _), b in objs.items():
        if kind not in ("ClusterRoleBinding", "RoleBinding"):
            continue
        if not any(s["kind"] == "ServiceAccount" and s["name"] == sa for s in b["subjects"]):
            continue
        if kind == "RoleBinding" and b["metadata"]["namespace"] != namespace:
            continue
        role = objs[(b["roleRef"]["kind"], b["roleRef"]["name"])]
        for r in role.get("rules") or []:
            if group in r["apiGroups"] and resource in r["resources"] and verb in r["verbs"] \
                    and not r.get("resourceNames"):
                return True
    return False


def env(c: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in c.get("env") or []}


def test_pods_announce_to_every_activator_with_one_kept_key() -> None:
    objs = render()
    act = container(objs, "Deployment", "knpy-activator")
    ctl = container(objs, "Deployment", "knpy-controller")
    ref = {"secretKeyRef": {"name": "knpy-announce-key", "key": "key"}}
    # the activators check announcements, the controller signs each revision's token
    assert env(act)["KNPY_ANNOUNCE_KEY"] == ref and env(ctl)["KNPY_ANNOUNCE_KEY"] == ref
    assert "--announce-port=8014" in act["args"]
    key = objs[("Secret", "knpy-announce-key")]["data"]["key"]
    assert len(key) >= 64  # 48 random characters, base64
    # headless, so its name resolves to every activator, not one ClusterIP
    svc = objs[("Service", "activator-announce")]["spec"]
    assert svc["clusterIP"] == "None"
    assert svc["ports"] == [{"name": "announce", "port": 8014, "targetPort": "announce",
                             "protocol": "TCP"}]
    pod = objs[("Deployment", "knpy-activator")]["spec"]["template"]
    assert svc["selector"].items() <= pod["metadata"]["labels"].items()

    off = render("--set", "serving.activator.announce=false")
    assert ("Secret", "knpy-announce-key") not in off
    assert ("Service", "activator-announce") not in off
    for name in ("knpy-activator", "knpy-controller"):
        assert "KNPY_ANNOUNCE_KEY" not in env(container(off, "Deployment", name))
    assert not any("announce" in a for a in container(off, "Deployment", "knpy-activator")["args"])


def test_activator_runs_in_cluster_mode_behind_activator_service() -> None:
    objs = render("--set", "clusterDomain=example.org")
    pod = objs[("Deployment", "knpy-activator")]["spec"]["template"]
    c = pod["spec"]["containers"][0]
    assert c["image"] == "dev.local/knpy/activator:dev"
    assert "--cluster" in c["args"]
    assert "--pod-ip=$(POD_IP)" in c["args"] and "--pod-name=$(POD_NAME)" in c["args"]
    assert env(c)["POD_IP"] == {"fieldRef": {"fieldPath": "status.podIP"}}
    assert env(c)["SYSTEM_NAMESPACE"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    assert "--system-namespace=$(SYSTEM_NAMESPACE)" in c["args"]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"http1": 8012, "h2c": 8013, "metrics": 9090, "announce": 8014}
    # Knative's activator-service, selecting the activator pods, ports by name
    svc = objs[("Service", "activator-service")]["spec"]
    assert svc["selector"].items() <= pod["metadata"]["labels"].items()
    assert {(p["name"], p["port"], p["targetPort"]) for p in svc["ports"]} == {
        ("http", 80, "http1"), ("http2", 81, "h2c"), ("http-metrics", 9090, "metrics")}
    # drains: the probe says so first, and the pod gets time for quiet period + drain
    probe = c["readinessProbe"]["httpGet"]
    assert probe["port"] == "http1"
    assert {"name": "K-Kubelet-Probe", "value": "activator"} in probe["httpHeaders"]
    assert "--drain-quiet-period=15" in c["args"] and "--drain-timeout=30" in c["args"]
    assert pod["spec"]["terminationGracePeriodSeconds"] > 15 + 30


def test_the_activator_dials_the_autoscaler_service() -> None:
    objs = render("--set", "clusterDomain=example.org",
                  "--set", "serving.autoscaler.extraArgs={--x-one,--x-two=2}")
    act = container(objs, "Deployment", "knpy-activator")
    assert "--autoscaler-url=ws://autoscaler.knpy-system.svc.example.org:8080/" in act["args"]
    svc = objs[("Service", "autoscaler")]["spec"]
    (port,) = svc["ports"]
    pod = objs[("Deployment", "knpy-autoscaler")]["spec"]["template"]
    assert svc["selector"].items() <= pod["metadata"]["labels"].items()
    c = pod["spec"]["containers"][0]
    assert port["port"] == 8080
    assert {p["name"]: p["containerPort"] for p in c["ports"]}[port["targetPort"]] == 8080
    assert c["image"] == "dev.local/knpy/autoscaler:dev"
    assert c["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert "--port=8080" in c["args"] and "--tick-interval=2" in c["args"]
    assert c["args"][-2:] == ["--x-one", "--x-two=2"]
    assert env(c)["AUTOSCALER_CLUSTER"] == "true"


@pytest.mark.parametrize("sa,rules", [
    ("knpy-controller", [
        *[("serving.knative.dev", r, v) for r in ("services", "configurations", "revisions",
                                                  "routes") for v in ("watch", "create")],
        *[("serving.knative.dev", f"{r}/{s}", "update") for r in ("services", "routes")
          for s in ("status", "finalizers")],
        ("autoscaling.internal.knative.dev", "podautoscalers", "create"),
        ("autoscaling.internal.knative.dev", "podautoscalers/status", "update"),
        ("networking.internal.knative.dev", "serverlessservices", "create"),
        ("networking.internal.knative.dev", "serverlessservices/status", "update"),
        ("networking.internal.knative.dev", "ingresses", "create"),
        ("apps", "deployments", "create"), ("apps", "deployments/scale", "update"),
        ("", "services", "create"), ("", "endpoints", "update"), ("", "pods", "list"),
        ("", "events", "create"), ("coordination.k8s.io", "leases", "update"),
        ("", "configmaps", "watch")]),
    ("knpy-autoscaler", [
        ("autoscaling.internal.knative.dev", "podautoscalers", "watch"),
        ("autoscaling.internal.knative.dev", "podautoscalers", "update"),
        ("autoscaling.internal.knative.dev", "podautoscalers/status", "update"),
        ("apps", "deployments/scale", "get"), ("apps", "deployments/scale", "update"),
        ("apps", "deployments/scale", "patch"), ("", "endpoints", "watch"),
        ("", "pods", "list"), ("networking.internal.knative.dev", "serverlessservices",
                               "update"), ("", "configmaps", "watch")]),
    ("knpy-activator", [
        ("serving.knative.dev", "revisions", "watch"), ("", "endpoints", "watch"),
        ("", "services", "list"), ("", "configmaps", "watch")]),
    ("knpy-ingress", [
        ("networking.internal.knative.dev", "ingresses", "watch"),
        ("networking.internal.knative.dev", "ingresses/status", "update"),
        ("", "services", "watch"), ("", "events", "create")]),
])
def test_each_serving_component_may_do_its_job(sa: str, rules: list) -> None:
    objs = render()
    missing = [r for r in rules if not allowed(objs, sa, *r)]
    assert not missing, f"{sa} may not {missing}"


def test_data_plane_roles_stay_narrow() -> None:
    objs = render(*CURRENT, kube="1.33.0")
    # the activator only reads
    for (kind, name), o in objs.items():
        if kind in ("ClusterRole", "Role") and name == "knpy-activator":
            assert not {v for r in o["rules"] for v in r["verbs"]} & WRITE
    # the autoscaler scales through /scale, never edits or creates the Deployment
    for verb in ("create", "update", "patch", "delete"):
        assert not allowed(objs, "knpy-autoscaler", "apps", "deployments", verb)
    assert not allowed(objs, "knpy-autoscaler", "serving.knative.dev", "revisions", "update")
    # the gateway writes only KIngress status (and events)
    for verb in WRITE:
        assert not allowed(objs, "knpy-ingress", "networking.internal.knative.dev",
                           "ingresses", verb)
        assert not allowed(objs, "knpy-ingress", "", "services", verb)
    assert not allowed(objs, "knpy-ingress", "", "secrets", "get")


def test_the_gateway_serves_both_listeners_behind_its_services() -> None:
    objs = render("--set", "clusterDomain=example.org",
                  "--set", "serving.ingress.extraArgs={--x-one}")
    pod = objs[("Deployment", "knpy-ingress")]["spec"]["template"]
    c = pod["spec"]["containers"][0]
    assert c["image"] == "dev.local/knpy/ingress:dev"
    assert pod["spec"]["serviceAccountName"] == "knpy-ingress"
    assert {"--port=8080", "--internal-port=8081", "--public-service=knpy-ingress",
            "--private-service=knpy-ingress-internal",
            "--cluster-domain=example.org"} <= set(c["args"])
    assert c["args"][-1] == "--x-one"
    assert env(c)["SYSTEM_NAMESPACE"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"http": 8080, "http-internal": 8081, "probes": 8090}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "probes"}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "probes"}
    assert c["resources"]["limits"]["memory"] and c["resources"]["requests"]["cpu"]
    for name, target in (("knpy-ingress", "http"), ("knpy-ingress-internal", "http-internal")):
        svc = objs[("Service", name)]["spec"]
        assert svc["selector"].items() <= pod["metadata"]["labels"].items()
        assert [(p["port"], p["targetPort"]) for p in svc["ports"]] == [(80, target)]
    # only the public listener leaves the cluster
    assert objs[("Service", "knpy-ingress-internal")]["spec"].get("type", "ClusterIP") \
        == "ClusterIP"


def test_the_public_gateway_is_a_node_port_at_a_fixed_configurable_port() -> None:
    svc = render()[("Service", "knpy-ingress")]["spec"]
    assert svc["type"] == "NodePort"
    assert [(p["port"], p["nodePort"]) for p in svc["ports"]] == [(80, 31080)]
    svc = render("--set", "serving.ingress.service.nodePort=30999")[
        ("Service", "knpy-ingress")]["spec"]
    assert svc["ports"][0]["nodePort"] == 30999
    # 0: the API server allocates one; ClusterIP: none at all
    for args in (("--set", "serving.ingress.service.nodePort=0"),
                 ("--set", "serving.ingress.service.type=ClusterIP")):
        svc = render(*args)[("Service", "knpy-ingress")]["spec"]
        assert "nodePort" not in svc["ports"][0]
    assert render("--set", "serving.ingress.service.type=ClusterIP")[
        ("Service", "knpy-ingress")]["spec"]["type"] == "ClusterIP"
    assert "nodePort" in fail("--set", "serving.ingress.service.nodePort=70000")
    assert "type" in fail("--set", "serving.ingress.service.type=Ingress")


def test_istio_ingressgateway_names_the_public_gateway_where_the_suites_look() -> None:
    objs = render("--set", "clusterDomain=example.org")
    svc = objs[("Service", "istio-ingressgateway")]
    assert svc["metadata"]["namespace"] == "istio-system"
    assert svc["spec"]["type"] == "ExternalName"
    assert svc["spec"]["externalName"] == "knpy-ingress.knpy-system.svc.example.org"
    # Knative's suites map a port 80 they find here to its nodePort: there must be none
    assert all(p["port"] != 80 for p in svc["spec"].get("ports") or [])
    assert objs[("Namespace", "istio-system")]
    # everything else stays in the release's namespace (or is cluster-scoped)
    outside = {k for k, o in objs.items()
               if o["metadata"].get("namespace") not in (None, "knpy-system")}
    assert outside == {("Service", "istio-ingressgateway")}
    # where the namespace exists already, or under other names
    objs = render("--set", "serving.ingress.istioGatewayService.createNamespace=false",
                  "--set", "serving.ingress.istioGatewayService.name=gw",
                  "--set", "serving.ingress.istioGatewayService.namespace=gw-system")
    assert ("Namespace", "istio-system") not in objs
    assert objs[("Service", "gw")]["metadata"]["namespace"] == "gw-system"
    # off: nothing outside the release's namespace
    objs = render("--set", "serving.ingress.istioGatewayService.enabled=false")
    assert not [k for k, o in objs.items()
                if k[0] == "Namespace" or o["metadata"].get("namespace") not in
                (None, "knpy-system")]


def test_endpointslice_rbac_and_pdbs_follow_the_cluster() -> None:
    two = ("--set", "serving.activator.replicas=2")
    old = render(*two)
    new = render(*two, *CURRENT, kube="1.33.0")
    slices = ("discovery.k8s.io", "endpointslices", "watch")
    assert not allowed(old, "knpy-activator", *slices)   # 1.20: discovery.k8s.io/v1beta1
    assert allowed(new, "knpy-activator", *slices)
    assert old[("PodDisruptionBudget", "knpy-activator")]["apiVersion"] == "policy/v1beta1"
    pdb = new[("PodDisruptionBudget", "knpy-activator")]
    assert pdb["apiVersion"] == "policy/v1"
    assert pdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] == "activator"


def test_revisions_get_the_charts_queue_proxy_unless_config_deployment_names_one() -> None:
    def image(*args: str) -> str:
        cm = render(*args)[("ConfigMap", "config-deployment")]
        return parse_deployment_config(cm["data"]).queue_sidecar_image

    assert image() == "dev.local/knpy/queue-proxy:dev"
    assert image("--set", "image.registry=reg.example/k", "--set", "image.tag=v1") == \
        "reg.example/k/queue-proxy:v1"
    assert image("--set", "servingConfig.config-deployment.queue-sidecar-image=q:1") == "q:1"
    objs = render("--set", "servingConfig.config-deployment.progress-deadline=5m")
    data = objs[("ConfigMap", "config-deployment")]["data"]
    assert data == {"queue-sidecar-image": "dev.local/knpy/queue-proxy:dev",
                    "progress-deadline": "5m"}


def test_serving_or_eventing_parts_can_be_left_out() -> None:
    full = render()
    no_serving = render("--set", "serving.enabled=false",
                        "--set", "serving.activator.replicas=3")
    gone = set(full) - set(no_serving)
    assert gone == {("Deployment", "knpy-activator"), ("Deployment", "knpy-autoscaler"),
                    ("Service", "activator-service"), ("Service", "activator-announce"),
                    ("Secret", "knpy-announce-key"), ("Service", "autoscaler"),
                    ("ServiceAccount", "knpy-activator"), ("ServiceAccount", "knpy-autoscaler"),
                    ("ClusterRole", "knpy-activator"), ("ClusterRole", "knpy-autoscaler"),
                    ("ClusterRoleBinding", "knpy-activator"),
                    ("ClusterRoleBinding", "knpy-autoscaler"),
                    ("Role", "knpy-serving-dataplane"), ("RoleBinding", "knpy-serving-dataplane"),
                    ("Role", "knpy-autoscaler"), ("RoleBinding", "knpy-autoscaler"),
                    ("Deployment", "knpy-ingress"), ("Service", "knpy-ingress"),
                    ("Service", "knpy-ingress-internal"), ("ServiceAccount", "knpy-ingress"),
                    ("ClusterRole", "knpy-ingress"), ("ClusterRoleBinding", "knpy-ingress"),
                    ("Service", "istio-ingressgateway"), ("Namespace", "istio-system")}
    # the one controller still reconciles Serving (its informers need the RBAC)
    assert allowed(no_serving, "knpy-controller", "serving.knative.dev", "revisions", "watch")
    no_eventing = render("--set", "eventing.enabled=false",
                         "--set", "broker.ingress.replicas=2")
    gone = set(full) - set(no_eventing)
    assert gone == {("Deployment", "knpy-broker-ingress"), ("Deployment", "knpy-broker-dispatcher"),
                    ("Service", "broker-ingress"), ("ServiceAccount", "knpy-broker"),
                    ("Role", "knpy-broker"), ("RoleBinding", "knpy-broker"),
                    ("StatefulSet", "knpy-nats"), ("Service", "knpy-nats"),
                    ("Service", "knpy-nats-headless"), ("Deployment", "knpy-pingsource-adapter"),
                    ("ServiceAccount", "knpy-pingsource-adapter"),
                    ("ClusterRole", "knpy-pingsource-adapter"),
                    ("ClusterRoleBinding", "knpy-pingsource-adapter"),
                    ("Role", "knpy-pingsource-adapter"),
                    ("RoleBinding", "knpy-pingsource-adapter")}
    assert ("Deployment", "knpy-activator") in no_eventing


@pytest.mark.parametrize("args", [(), ("--set", "serving.enabled=false"),
                                  ("--set", "eventing.enabled=false"),
                                  ("--set", "webhook.enabled=false")])
def test_every_service_account_a_pod_or_binding_names_exists(args: tuple[str, ...]) -> None:
    objs = render(*args)
    accounts = {n for k, n in objs if k == "ServiceAccount"}
    named = {o["spec"]["template"]["spec"]["serviceAccountName"]
             for (k, _), o in objs.items() if k in ("Deployment", "StatefulSet")
             and "serviceAccountName" in o["spec"]["template"]["spec"]}
    named |= {s["name"] for (k, _), o in objs.items()
              if k in ("ClusterRoleBinding", "RoleBinding") for s in o["subjects"]}
    assert named <= accounts, named - accounts
    roles = {(k, n) for k, n in objs if k in ("ClusterRole", "Role")}
    refs = {(o["roleRef"]["kind"], o["roleRef"]["name"]) for (k, _), o in objs.items()
            if k in ("ClusterRoleBinding", "RoleBinding")}
    assert refs <= roles, refs - roles


def test_an_image_digest_rolls_only_the_pods_that_run_that_image() -> None:
    objs = render("--set", "image.digests.activator=sha256:aaa",
                  "--set", "image.digests.broker=sha256:bbb",
                  "--set", "image.digests.nats-server=sha256:ccc")

    def digest(kind: str, name: str) -> str | None:
        md = objs[(kind, name)]["spec"]["template"]["metadata"]
        return (md.get("annotations") or {}).get("knpy.dev/image-digest")

    assert digest("Deployment", "knpy-activator") == "sha256:aaa"
    assert digest("Deployment", "knpy-broker-ingress") == "sha256:bbb"
    assert digest("Deployment", "knpy-broker-dispatcher") == "sha256:bbb"
    assert digest("StatefulSet", "knpy-nats") == "sha256:ccc"
    for name in ("knpy-controller", "knpy-webhook", "knpy-autoscaler"):
        assert digest("Deployment", name) is None
