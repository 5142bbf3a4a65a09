"""charts/knpy's HorizontalPodAutoscalers for the activator and the gateway
(serving.<activator|ingress>.hpa): the API version the cluster serves, the Deployment's
replicas left to the HPA, the PodDisruptionBudget gated on minReplicas, and bad values refused
with the key named (helm template, 1.20 and current)."""

from __future__ import annotations

import subprocess

import pytest

from tests.unit.chart.test_knpy_chart import CHART, HELM, Objects, fail, render

pytestmark = pytest.mark.skipif(not HELM.exists(), reason="helm not installed: make kube-tools")

BOTH = ("--set", "serving.activator.hpa.enabled=true", "--set", "serving.ingress.hpa.enabled=true")
CURRENT = ("--api-versions", "autoscaling/v2/HorizontalPodAutoscaler",
           "--api-versions", "policy/v1/PodDisruptionBudget")


def hpas(objs: Objects) -> dict[str, dict]:
    return {n: o for (k, n), o in objs.items() if k == "HorizontalPodAutoscaler"}


def pdbs(objs: Objects) -> set[str]:
    return {n for k, n in objs if k == "PodDisruptionBudget"}


def test_no_hpa_by_default_and_the_deployments_keep_their_replicas() -> None:
    objs = render("--set", "serving.activator.replicas=2")
    assert not hpas(objs)
    assert objs[("Deployment", "knpy-activator")]["spec"]["replicas"] == 2
    assert objs[("Deployment", "knpy-ingress")]["spec"]["replicas"] == 1


@pytest.mark.parametrize(("kube", "extra", "api"), [
    ("1.20.2", (), "autoscaling/v2beta2"),
    ("1.33.0", CURRENT, "autoscaling/v2"),
    # offline (helm template/lint without the cluster's API list): the version decides
    ("1.33.0", (), "autoscaling/v2"),
])
def test_hpa_api_version_follows_the_cluster(kube: str, extra: tuple[str, ...],
                                             api: str) -> None:
    objs = render(*BOTH, "--set", "serving.ingress.hpa.maxReplicas=7",
                  "--set", "serving.ingress.hpa.targetCPUUtilizationPercentage=80",
                  *extra, kube=kube)
    got = hpas(objs)
    assert set(got) == {"knpy-activator", "knpy-ingress"}
    for name, o in got.items():
        assert o["apiVersion"] == api
        assert o["metadata"]["namespace"] == "knpy-system"
        ref = o["spec"]["scaleTargetRef"]
        assert (ref["apiVersion"], ref["kind"], ref["name"]) == ("apps/v1", "Deployment", name)
        assert ("Deployment", name) in objs
    # the activator's defaults are Knative's activator HPA: 1-20 at 100% of the CPU request
    spec = got["knpy-activator"]["spec"]
    assert (spec["minReplicas"], spec["maxReplicas"]) == (1, 20)
    assert spec["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 100}}}]
    spec = got["knpy-ingress"]["spec"]
    assert spec["maxReplicas"] == 7
    assert spec["metrics"][0]["resource"]["target"]["averageUtilization"] == 80


def test_an_hpa_owns_the_replica_count() -> None:
    """With an HPA the Deployment has no spec.replicas: a helm upgrade would otherwise set
    it back to `replicas` under the HPA's feet."""
    objs = render("--set", "serving.activator.hpa.enabled=true",
                  "--set", "serving.activator.replicas=3")
    assert "replicas" not in objs[("Deployment", "knpy-activator")]["spec"]
    assert objs[("Deployment", "knpy-ingress")]["spec"]["replicas"] == 1
    assert set(hpas(objs)) == {"knpy-activator"}


def test_the_pdb_follows_the_hpas_min_replicas() -> None:
    # minReplicas 2: always two pods, so a PDB, whatever `replicas` says
    objs = render(*BOTH, "--set", "serving.ingress.hpa.minReplicas=2", *CURRENT, kube="1.33.0")
    assert pdbs(objs) == {"knpy-ingress"}
    # minReplicas 1: the HPA may leave one pod, which a PDB would keep from ever draining
    objs = render(*BOTH, "--set", "serving.activator.replicas=3")
    assert pdbs(objs) == set()
    # no HPA: replicas decides, as before
    assert pdbs(render("--set", "serving.activator.replicas=3")) == {"knpy-activator"}


def test_an_hpa_without_serving_is_left_out() -> None:
    objs = render(*BOTH, "--set", "serving.enabled=false")
    assert not hpas(objs)


@pytest.mark.parametrize(("args", "want"), [
    (("--set", "serving.ingress.hpa.enabled=true", "--set", "serving.ingress.hpa.minReplicas=5",
      "--set", "serving.ingress.hpa.maxReplicas=4"),
     "serving.ingress.hpa.maxReplicas (4) must be >= serving.ingress.hpa.minReplicas (5)"),
    (("--set", "serving.activator.hpa.minReplicas=0"), "/serving/activator/hpa/minReplicas"),
    (("--set", "serving.ingress.hpa.targetCPUUtilizationPercentage=0"),
     "/serving/ingress/hpa/targetCPUUtilizationPercentage"),
    (("--set", "serving.activator.hpa.maxReplica=3"), "'maxReplica' not allowed"),
    (("--set", "serving.activator.hpa.enabled=true",
      "--set", "serving.activator.resources.requests.cpu=null"),
     "serving.activator.hpa needs serving.activator.resources.requests.cpu"),
])
def test_bad_hpa_values_fail_with_the_key_named(args: tuple[str, ...], want: str) -> None:
    assert want in fail(*args)


@pytest.mark.parametrize("kube", [(), ("--kube-version", "1.20.0")])
def test_lint_is_clean_with_both_hpas_and_a_pdb(kube: tuple[str, ...]) -> None:
    """--strict fails on a deprecated API: offline, helm's default version is a current one,
    where v2beta2 HPAs and v1beta1 PDBs are gone."""
    p = subprocess.run([str(HELM), "lint", str(CHART), "--strict", *kube, *BOTH,
                        "--set", "serving.ingress.hpa.minReplicas=2"],
                       capture_output=True, text=True, timeout=60, check=False)
    assert p.returncode == 0, p.stdout + p.stderr
