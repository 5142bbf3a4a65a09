"""charts/knpy's Serving parts: the CRDs (structural, status subresource, Knative's short
names and printer columns), the config maps and the webhook rules that cover them."""

from __future__ import annotations

from typing import Any

import pytest

from knpy.apis.serving.configmaps import SERVING_CONFIG_PARSERS
from tests.unit.chart.test_knpy_chart import HELM, render

pytestmark = pytest.mark.skipif(not HELM.exists(), reason="helm not installed: make kube-tools")

READY = '.status.conditions[?(@.type=="Ready")].status'
CRDS = {  # name: (short names, printer column names)
    "services.serving.knative.dev": (
        {"ksvc", "kservice"}, ["URL", "LatestCreated", "LatestReady", "Ready", "Reason"]),
    "configurations.serving.knative.dev": (
        {"cfg", "config"}, ["LatestCreated", "LatestReady", "Ready", "Reason"]),
    "revisions.serving.knative.dev": (
        {"rev"}, ["Config Name", "Generation", "Ready", "Reason", "Actual Replicas",
                  "Desired Replicas"]),
    "routes.serving.knative.dev": ({"rt"}, ["URL", "Ready", "Reason"]),
    "domainmappings.serving.knative.dev": ({"dm"}, ["URL", "Ready", "Reason"]),
    "podautoscalers.autoscaling.internal.knative.dev": (
        {"kpa", "pa"}, ["DesiredScale", "ActualScale", "Ready", "Reason"]),
    "serverlessservices.networking.internal.knative.dev": (
        {"sks"}, ["Mode", "Activators", "ServiceName", "PrivateServiceName", "Ready",
                  "Reason"]),
    "ingresses.networking.internal.knative.dev": ({"kingress", "king"}, ["Ready", "Reason"]),
}
# Knative keeps its KIngress out of `kubectl get all`
NOT_IN_ALL = {"ingresses.networking.internal.knative.dev"}


def structural_problems(node: dict[str, Any], path: str) -> list[str]:
    """What the API server's structural-schema check would refuse: a node without a type,
    or an object whose fields are neither listed nor declared open."""
    out = []
    if "type" not in node and not (node.get("x-kubernetes-preserve-unknown-fields")
                                   or node.get("x-kubernetes-int-or-string")):
        out.append(f"{path}: no type")
    if node.get("type") == "object" and path.count(".") > 1 and not (
            "properties" in node or "additionalProperties" in node
            or node.get("x-kubernetes-preserve-unknown-fields")) \
            and not path.endswith(".metadata"):
        out.append(f"{path}: object with no properties would be pruned empty")
    for k, child in (node.get("properties") or {}).items():
        out += structural_problems(child, f"{path}.{k}")
    if isinstance(node.get("items"), dict):
        out += structural_problems(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        out += structural_problems(node["additionalProperties"], f"{path}{{}}")
    return out


def test_serving_crds_read_like_knatives() -> None:
    objs = render()
    for name, (short, columns) in CRDS.items():
        crd = objs[("CustomResourceDefinition", name)]["spec"]
        assert set(crd["names"]["shortNames"]) == short, name
        (version,) = crd["versions"]
        assert version["subresources"] == {"status": {}}, name
        cols = version["additionalPrinterColumns"]
        assert [c["name"] for c in cols] == columns, name
        assert next(c for c in cols if c["name"] == "Ready")["jsonPath"] == READY
        schema = version["schema"]["openAPIV3Schema"]
        assert structural_problems(schema, "") == [], name
        assert ("all" in crd["names"]["categories"]) == (name not in NOT_IN_ALL), name


def test_kingress_schema_keeps_splits_and_load_balancers() -> None:
    crd = render()[("CustomResourceDefinition", "ingresses.networking.internal.knative.dev")]
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]
    path = (schema["spec"]["properties"]["rules"]["items"]["properties"]["http"]["properties"]
            ["paths"]["items"]["properties"])
    split = path["splits"]["items"]["properties"]
    assert {"serviceName", "serviceNamespace", "servicePort", "percent",
            "appendHeaders"} <= set(split)
    assert {"path", "headers", "rewriteHost", "appendHeaders"} <= set(path)
    lb = schema["status"]["properties"]["privateLoadBalancer"]["properties"]["ingress"]
    assert "domainInternal" in lb["items"]["properties"]


def test_pod_spec_is_open_and_knatives_fields_are_typed() -> None:
    crd = render()[("CustomResourceDefinition", "services.serving.knative.dev")]["spec"]
    spec = crd["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    tspec = spec["properties"]["template"]["properties"]["spec"]
    assert tspec["x-kubernetes-preserve-unknown-fields"] is True
    assert tspec["properties"]["containerConcurrency"]["type"] == "integer"
    assert tspec["properties"]["containers"]["items"]["x-kubernetes-preserve-unknown-fields"]
    traffic = spec["properties"]["traffic"]["items"]["properties"]
    assert traffic["latestRevision"]["type"] == "boolean"
    assert traffic["percent"]["type"] == "integer"


def test_serving_config_maps_are_shipped_and_validated() -> None:
    objs = render("--set", "servingConfig.config-autoscaler.stable-window=30s")
    for name in SERVING_CONFIG_PARSERS:
        cm = objs[("ConfigMap", name)]
        assert cm["metadata"]["labels"]["eventing.knpy.dev/config"] == "true"
        SERVING_CONFIG_PARSERS[name](cm.get("data") or {})  # the chart's data parses
    assert objs[("ConfigMap", "config-autoscaler")]["data"] == {"stable-window": "30s"}


def test_webhooks_cover_the_serving_kinds() -> None:
    objs = render()
    v = objs[("ValidatingWebhookConfiguration", "validation.webhook.eventing.knpy.dev")]
    m = objs[("MutatingWebhookConfiguration", "defaulting.webhook.eventing.knpy.dev")]

    def covered(cfg: dict) -> set[tuple[str, str]]:
        return {(g, r) for h in cfg["webhooks"] for rule in h["rules"]
                for g in rule["apiGroups"] for r in rule["resources"]}
    serving = {("serving.knative.dev", r)
               for r in ("services", "configurations", "revisions", "routes")}
    pa = ("autoscaling.internal.knative.dev", "podautoscalers")
    sks = ("networking.internal.knative.dev", "serverlessservices")
    assert serving | {pa, sks} <= covered(v)
    assert serving | {pa} <= covered(m)


def test_clusterdomainclaims_are_cluster_scoped_and_need_a_namespace() -> None:
    crd = render()[("CustomResourceDefinition",
                    "clusterdomainclaims.networking.internal.knative.dev")]["spec"]
    assert crd["scope"] == "Cluster" and crd["names"]["shortNames"] == ["cdc"]
    (version,) = crd["versions"]
    assert version["name"] == "v1alpha1"
    schema = version["schema"]["openAPIV3Schema"]
    assert structural_problems(schema, "") == []
    assert schema["properties"]["spec"]["required"] == ["namespace"]
    dm = render()[("CustomResourceDefinition", "domainmappings.serving.knative.dev")]["spec"]
    assert [v["name"] for v in dm["versions"]] == ["v1beta1"]
