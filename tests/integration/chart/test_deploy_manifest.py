"""What `make deploy` decides against a real Kubernetes 1.20 API server (no node): the
chart installs with the local values, an upgrade with the same tree and images renders the
very manifest the release has (so a second `make deploy` changes nothing), a rebuilt image
or another value does not, and the capabilities come from the server (no EndpointSlice
v1 RBAC, policy/v1beta1 PDBs and autoscaling/v2beta2 HPAs on 1.20)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
import yaml

from hack.deploy import (
    CHART,
    LOCAL_VALUES,
    deployed_manifest,
    digest_values,
    same_manifest,
    upgrade_manifest,
)
from tests.support.cluster import KubeAPI

# No webhook (nothing would serve it here, and its Fail policy would reach other tests in
# this session) and no CRDs (other tests own theirs); two activators for a PDB, and a
# gateway HPA with minReplicas 2 (a PDB too).
ISOLATED = ("--set", "webhook.enabled=false", "--skip-crds",
            "--set", "serving.activator.replicas=2",
            "--set", "serving.ingress.hpa.enabled=true",
            "--set", "serving.ingress.hpa.minReplicas=2", "--set", "serving.ingress.replicas=3")


@pytest.fixture(scope="module")
def release(kube_apiserver: KubeAPI) -> Iterator[tuple[KubeAPI, str, list[str]]]:
    c = kube_apiserver
    ns = f"deploy-{uuid.uuid4().hex[:6]}"
    values = [*LOCAL_VALUES, *digest_values({"dev.local/knpy/controller:dev": "sha256:1"}),
              *ISOLATED]
    c.helm("upgrade", "--install", "knpy", str(CHART), "-n", ns, "--create-namespace",
          *values, timeout=180)
    try:
        yield c, ns, values
    finally:
        c.helm("uninstall", "knpy", "-n", ns, timeout=120, check=False)
        c.kubectl("delete", "namespace", ns, "--wait=false", check=False)


def test_the_same_tree_and_images_render_the_deployed_manifest(
        release: tuple[KubeAPI, str, list[str]]) -> None:
    c, ns, values = release
    current = deployed_manifest(c, "knpy", ns)
    assert current is not None
    wanted = upgrade_manifest(c, "knpy", ns, values)
    assert wanted is not None and same_manifest(current, wanted)
    # the dry run left no trace: still the first Helm revision
    status = json.loads(c.helm("status", "knpy", "-n", ns, "-o", "json").stdout)
    assert status["version"] == 1


@pytest.mark.parametrize("change", [
    digest_values({"dev.local/knpy/controller:dev": "sha256:2"}),   # controller rebuilt
    ["--set", "serving.enabled=false"],
])
def test_a_new_image_or_value_is_a_change(release: tuple[KubeAPI, str, list[str]],
                                          change: list[str]) -> None:
    c, ns, values = release
    current = deployed_manifest(c, "knpy", ns)
    wanted = upgrade_manifest(c, "knpy", ns, [*values, *change])
    assert current is not None and wanted is not None
    assert not same_manifest(current, wanted)


def test_capabilities_come_from_the_1_20_server(release: tuple[KubeAPI, str, list[str]]) -> None:
    c, ns, _ = release
    objs = {(d["kind"], d["metadata"]["name"]): d
            for d in yaml.safe_load_all(deployed_manifest(c, "knpy", ns) or "") if d}
    rules = objs[("ClusterRole", "knpy-activator")]["rules"]
    assert not [r for r in rules if "discovery.k8s.io" in r["apiGroups"]]
    assert objs[("PodDisruptionBudget", "knpy-activator")]["apiVersion"] == "policy/v1beta1"
    assert objs[("HorizontalPodAutoscaler", "knpy-ingress")]["apiVersion"] == \
        "autoscaling/v2beta2"
    # and the server took them: the API objects exist
    c.kubectl("get", "-n", ns, "deployment/knpy-activator", "service/activator-service",
          "service/autoscaler", "poddisruptionbudget/knpy-activator",
          "horizontalpodautoscaler.v2beta2.autoscaling/knpy-ingress",
          "poddisruptionbudget/knpy-ingress")
    # the HPA owns the gateway's count: `replicas` (3) is ignored and Kubernetes defaulted
    # the field the chart left out (no HPA controller runs here to raise it to 2)
    hpa = json.loads(c.kubectl("get", "-n", ns, "horizontalpodautoscaler.v2beta2.autoscaling",
                               "knpy-ingress", "-o", "json").stdout)
    assert hpa["spec"]["metrics"][0]["resource"]["target"] == {
        "type": "Utilization", "averageUtilization": 100}
    gateway = json.loads(c.kubectl("get", "-n", ns, "deployment/knpy-ingress",
                                   "-o", "json").stdout)
    assert gateway["spec"]["replicas"] == 1
