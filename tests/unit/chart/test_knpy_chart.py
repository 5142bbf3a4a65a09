"""charts/knpy renders what the Eventing stack needs, on Kubernetes 1.20 and on current
releases (helm template with the harness's helm; skipped when it is not installed)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.procs import REPO

CHART = REPO / "charts" / "knpy"
HELM = Path.home() / ".cache" / "knpy" / "tools" / "bin" / "helm"

pytestmark = pytest.mark.skipif(not HELM.exists(), reason="helm not installed: make kube-tools")

Objects = dict[tuple[str, str], dict[str, Any]]


def render(*args: str, kube: str = "1.20.2") -> Objects:
    p = subprocess.run([str(HELM), "template", "knpy", str(CHART), "-n", "knpy-system",
                        "--include-crds", "--kube-version", kube, *args],
                       capture_output=True, text=True, timeout=60, check=False)
    if p.returncode != 0:
        raise AssertionError(p.stderr)
    objs: Objects = {}
    for d in yaml.safe_load_all(p.stdout):
        if d:
            key = (d["kind"], d["metadata"]["name"])
            assert key not in objs, f"{key} rendered twice"
            objs[key] = d
    return objs


def fail(*args: str) -> str:
    p = subprocess.run([str(HELM), "template", "knpy", str(CHART), *args],
                       capture_output=True, text=True, timeout=60, check=False)
    assert p.returncode != 0
    return p.stderr


def container(objs: Objects, kind: str, name: str) -> dict[str, Any]:
    return objs[(kind, name)]["spec"]["template"]["spec"]["containers"][0]


def test_lint_is_clean() -> None:
    p = subprocess.run([str(HELM), "lint", str(CHART), "--strict"], capture_output=True,
                       text=True, timeout=60, check=False)
    assert p.returncode == 0, p.stdout + p.stderr


def test_default_install_has_every_component() -> None:
    objs = render()
    for kind, name in [
        ("CustomResourceDefinition", "brokers.eventing.knative.dev"),
        ("CustomResourceDefinition", "triggers.eventing.knative.dev"),
        ("Deployment", "knpy-controller"), ("Deployment", "knpy-webhook"),
        ("Deployment", "knpy-broker-ingress"), ("Deployment", "knpy-broker-dispatcher"),
        ("StatefulSet", "knpy-nats"), ("Service", "knpy-nats"),
        ("Service", "broker-ingress"), ("Service", "knpy-webhook"),
        ("ConfigMap", "config-knpy-eventing"), ("ConfigMap", "config-br-defaults"),
        ("ClusterRole", "knpy-controller"), ("Role", "knpy-controller"),
        ("ClusterRole", "knpy-webhook"), ("Role", "knpy-webhook"),
        ("MutatingWebhookConfiguration", "defaulting.webhook.eventing.knpy.dev"),
        ("ValidatingWebhookConfiguration", "validation.webhook.eventing.knpy.dev"),
    ]:
        assert (kind, name) in objs, f"{kind}/{name} missing"
    # Knative's observability config maps, in the system namespace as Knative ships them
    assert json.loads(objs[("ConfigMap", "config-logging")]["data"]["zap-logger-config"])[
        "level"] == "info"
    assert objs[("ConfigMap", "config-tracing")]["data"]["backend"] == "none"
    # one replica each: no PodDisruptionBudget (it would block every node drain)
    assert not [k for k in objs if k[0] == "PodDisruptionBudget"]


def test_every_pod_uses_local_images_and_the_pull_policy() -> None:
    objs = render("--set", "image.pullPolicy=Never")
    workloads = [o for (k, _), o in objs.items() if k in ("Deployment", "StatefulSet")]
    assert len(workloads) == 9
    for o in workloads:
        # Service env vars would collide with component settings (KNPY_WEBHOOK_PORT)
        assert o["spec"]["template"]["spec"]["enableServiceLinks"] is False
        for c in o["spec"]["template"]["spec"]["containers"]:
            assert c["image"].startswith("dev.local/knpy/") and c["image"].endswith(":dev")
            assert c["imagePullPolicy"] == "Never"
    assert container(objs, "StatefulSet", "knpy-nats")["image"] == "dev.local/knpy/nats-server:dev"


def test_broker_pods_share_the_contract_and_reach_nats() -> None:
    objs = render()
    cfg = objs[("ConfigMap", "config-knpy-eventing")]["data"]
    assert cfg["ingress-host"] == "broker-ingress.knpy-system.svc.cluster.local"
    assert cfg["ingress-deployment"] == "knpy-broker-ingress"
    assert cfg["dispatcher-deployment"] == "knpy-broker-dispatcher"
    controller = container(objs, "Deployment", "knpy-controller")
    assert "--contract-configmap=knpy-broker-contract" in controller["args"]
    for name, role in (("knpy-broker-ingress", "ingress"),
                       ("knpy-broker-dispatcher", "dispatcher")):
        c = container(objs, "Deployment", name)
        assert f"--role={role}" in c["args"]
        assert "--nats=nats://knpy-nats.knpy-system.svc.cluster.local:4222" in c["args"]
        # the contract through the API (a mounted ConfigMap arrived 64-236 s late)
        assert "--contract-configmap=knpy-broker-contract" not in c["args"]
        assert "--contract-configmap=knpy-system/knpy-broker-contract" in c["args"]
        pod = objs[("Deployment", name)]["spec"]["template"]["spec"]
        assert not [v for v in pod["volumes"] if "configMap" in v]
        assert pod["automountServiceAccountToken"] is True
        assert {e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"] for e in c["env"]
                if "valueFrom" in e} == {
            "POD_NAME": "metadata.name", "POD_NAMESPACE": "metadata.namespace"}
    rules = objs[("Role", "knpy-broker")]["rules"]
    assert {"apiGroups": [""], "resources": ["configmaps"],
            "resourceNames": ["knpy-broker-contract"], "verbs": ["get", "list", "watch"]} in rules
    assert {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "patch"]} in rules
    assert objs[("RoleBinding", "knpy-broker")]["subjects"][0]["name"] == "knpy-broker"
    ingress = container(objs, "Deployment", "knpy-broker-ingress")
    assert "--host=0.0.0.0" in ingress["args"]
    svc = objs[("Service", "broker-ingress")]["spec"]
    assert svc["ports"][0]["port"] == 80 and svc["ports"][0]["targetPort"] == "http"


def test_values_reach_the_components() -> None:
    objs = render("--set", "nats.url=nats://elsewhere:4222", "--set", "nats.enabled=false",
                  "--set", "broker.maxEventBytes=131072", "--set", "clusterDomain=example.org",
                  "--set", "controller.leaderElection=false")
    assert ("StatefulSet", "knpy-nats") not in objs
    args = container(objs, "Deployment", "knpy-broker-dispatcher")["args"]
    assert "--nats=nats://elsewhere:4222" in args and "--max-event-bytes=131072" in args
    cfg = objs[("ConfigMap", "config-knpy-eventing")]["data"]
    assert cfg["ingress-host"] == "broker-ingress.knpy-system.svc.example.org"
    assert cfg["cluster-domain"] == "example.org"
    assert "--no-leader-elect" in container(objs, "Deployment", "knpy-controller")["args"]


def test_nats_volume_is_a_claim_or_an_empty_dir() -> None:
    sts = render()[("StatefulSet", "knpy-nats")]["spec"]
    assert sts["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "1Gi"
    sts = render("--set", "nats.persistence.enabled=false")[("StatefulSet", "knpy-nats")]["spec"]
    assert "volumeClaimTemplates" not in sts
    assert sts["template"]["spec"]["volumes"] == [{"name": "data", "emptyDir": {}}]


def test_pdb_api_version_follows_the_cluster() -> None:
    many = ("--set", "broker.ingress.replicas=2", "--set", "webhook.replicas=3")
    old = render(*many)
    new = render(*many, "--api-versions", "policy/v1/PodDisruptionBudget", kube="1.33.0")
    for objs, api in ((old, "policy/v1beta1"), (new, "policy/v1")):
        pdbs = {n: o for (k, n), o in objs.items() if k == "PodDisruptionBudget"}
        assert set(pdbs) == {"knpy-broker-ingress", "knpy-webhook"}
        assert {o["apiVersion"] for o in pdbs.values()} == {api}
        assert pdbs["knpy-webhook"]["spec"]["selector"]["matchLabels"][
            "app.kubernetes.io/name"] == "webhook"


def test_webhooks_point_at_the_service_and_leave_ca_bundle_to_the_webhook() -> None:
    objs = render()
    v = objs[("ValidatingWebhookConfiguration", "validation.webhook.eventing.knpy.dev")]
    m = objs[("MutatingWebhookConfiguration", "defaulting.webhook.eventing.knpy.dev")]
    for hook in [*v["webhooks"], *m["webhooks"]]:
        cc = hook["clientConfig"]
        assert "caBundle" not in cc
        assert cc["service"]["name"] == "knpy-webhook"
        assert cc["service"]["namespace"] == "knpy-system"
        assert hook["sideEffects"] == "None" and hook["admissionReviewVersions"] == ["v1"]
    paths = {h["name"]: h["clientConfig"]["service"]["path"] for h in v["webhooks"]}
    assert paths["validation.webhook.eventing.knpy.dev"] == "/validation"
    # ConfigMaps only with the chart's label, so the contract writes never go through it
    cm_hook = next(h for h in v["webhooks"] if h["rules"][0]["resources"] == ["configmaps"])
    assert cm_hook["objectSelector"] == {"matchLabels": {"eventing.knpy.dev/config": "true"}}
    # RBAC: the webhook may update only its own two configurations
    rules = objs[("ClusterRole", "knpy-webhook")]["rules"]
    assert {n for r in rules for n in r["resourceNames"]} == {
        "validation.webhook.eventing.knpy.dev", "defaulting.webhook.eventing.knpy.dev"}
    wh = container(objs, "Deployment", "knpy-webhook")
    assert "--validating-config=validation.webhook.eventing.knpy.dev" in wh["args"]
    assert "--mutating-config=defaulting.webhook.eventing.knpy.dev" in wh["args"]


def test_webhook_can_be_left_out() -> None:
    objs = render("--set", "webhook.enabled=false")
    assert not [k for k in objs if "webhook" in k[1] and k[0] != "CustomResourceDefinition"]


def test_bad_values_fail_with_the_field_named() -> None:
    err = fail("--set", "broker.maxEventBytes=1000")
    assert "/broker/maxEventBytes" in err and "minimum" in err
    err = fail("--set", "image.pullPolicy=Sometimes")
    assert "/image/pullPolicy" in err


def test_every_port_names_its_protocol() -> None:
    """Helm 4 applies server-side; Kubernetes 1.20's Service and container port lists are
    keyed by (port, protocol) and reject an element without protocol."""
    objs = render()
    for (kind, name), o in objs.items():
        if kind == "Service":
            ports = o["spec"].get("ports") or []  # an ExternalName may have none
        elif kind in ("Deployment", "StatefulSet"):
            ports = [p for c in o["spec"]["template"]["spec"]["containers"]
                     for p in c.get("ports", [])]
        else:
            continue
        for p in ports:
            assert p.get("protocol") == "TCP", f"{kind}/{name} port {p} has no protocol"


def test_aggregated_roles_leave_rules_to_the_aggregation_controller() -> None:
    """kube-controller-manager fills in an aggregated ClusterRole's rules; a chart that sets
    `rules: []` conflicts with it on every server-side-applied `helm upgrade`."""
    objs = render()
    aggregated = {n: o for (k, n), o in objs.items()
                  if k == "ClusterRole" and "aggregationRule" in o}
    assert set(aggregated) == {"knpy-addressable-resolver", "knpy-podspecable-binding"}
    for name, o in aggregated.items():
        assert "rules" not in o, name


def test_every_knpy_deployment_is_scraped_on_a_port_its_container_serves() -> None:
    """prometheus.io/scrape + port on each component's pods, naming a declared containerPort
    whose process serves GET /metrics there (docs/observability.md)."""
    objs = render()
    want = {"knpy-controller": 8080, "knpy-webhook": 9090, "knpy-ingress": 8090,
            "knpy-activator": 9090, "knpy-autoscaler": 8080, "knpy-broker-ingress": 9092,
            "knpy-broker-dispatcher": 9092, "knpy-pingsource-adapter": 8080}
    for name, port in want.items():
        pod = objs[("Deployment", name)]["spec"]["template"]
        ann = pod["metadata"]["annotations"]
        assert ann["prometheus.io/scrape"] == "true", name
        assert ann["prometheus.io/port"] == str(port), name
        assert ann["prometheus.io/path"] == "/metrics", name
        c = pod["spec"]["containers"][0]
        assert port in [p["containerPort"] for p in c["ports"]], name
        args = " ".join(c.get("args", []))
        if name.startswith("knpy-broker") or name == "knpy-webhook":
            assert f"--metrics-port={port}" in args, name


def test_channels_are_installed_admitted_and_reconcilable() -> None:
    objs = render()
    crds = {n for k, n in objs if k == "CustomResourceDefinition"}
    assert {"channels.messaging.knative.dev", "inmemorychannels.messaging.knative.dev",
            "subscriptions.messaging.knative.dev"} <= crds
    short = {objs[("CustomResourceDefinition", f"{p}.messaging.knative.dev")]["spec"]["names"]
             ["shortNames"][0] for p in ("channels", "inmemorychannels", "subscriptions")}
    assert short == {"ch", "imc", "sub"}
    cfg = yaml.safe_load(objs[("ConfigMap", "default-ch-webhook")]["data"]["default-ch-config"])
    assert cfg["clusterDefault"]["kind"] == "InMemoryChannel"
    for name in ("validation.webhook.eventing.knpy.dev", "defaulting.webhook.eventing.knpy.dev"):
        kind = "Validating" if name.startswith("validation") else "Mutating"
        rules = [r for h in objs[(f"{kind}WebhookConfiguration", name)]["webhooks"]
                 for r in h["rules"]]
        assert any(r["apiGroups"] == ["messaging.knative.dev"] and set(r["resources"]) == {
            "channels", "inmemorychannels", "subscriptions"} for r in rules), name
    rules = objs[("ClusterRole", "knpy-controller")]["rules"]
    granted = {(res, verb) for r in rules if "messaging.knative.dev" in r["apiGroups"]
               for res in r["resources"] for verb in r["verbs"]}
    assert {("subscriptions", "watch"), ("inmemorychannels", "create"),
            ("channels", "update"), ("subscriptions/status", "update"),
            ("channels/finalizers", "update")} <= granted


def test_flows_are_installed_admitted_and_reconcilable() -> None:
    objs = render()
    for p in ("sequences", "parallels"):
        crd = objs[("CustomResourceDefinition", f"{p}.flows.knative.dev")]
        v = crd["spec"]["versions"][0]
        assert v["subresources"] == {"status": {}}
        assert "URL" in {c["name"] for c in v["additionalPrinterColumns"]}
        # Addressable: they resolve as sinks and subscribers
        assert crd["metadata"]["labels"]["duck.knative.dev/addressable"] == "true"
    for name in ("validation.webhook.eventing.knpy.dev", "defaulting.webhook.eventing.knpy.dev"):
        kind = "Validating" if name.startswith("validation") else "Mutating"
        rules = [r for h in objs[(f"{kind}WebhookConfiguration", name)]["webhooks"]
                 for r in h["rules"]]
        assert any(r["apiGroups"] == ["flows.knative.dev"] and set(r["resources"]) == {
            "sequences", "parallels"} for r in rules), name
    rules = objs[("ClusterRole", "knpy-controller")]["rules"]
    granted = {(res, verb) for r in rules if "flows.knative.dev" in r["apiGroups"]
               for res in r["resources"] for verb in r["verbs"]}
    assert {("sequences", "watch"), ("parallels", "list"), ("sequences/status", "update"),
            ("parallels/finalizers", "update")} <= granted
