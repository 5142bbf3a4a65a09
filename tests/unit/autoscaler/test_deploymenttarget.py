"""DeploymentScaleTarget: decisions go to the Deployment's scale subresource, its pods are
the ready addresses of the private Endpoints, and it starts from the Deployment's replicas."""

from __future__ import annotations

from typing import Any

from knpy.autoscaler.deploymenttarget import DEPLOYMENTS, DeploymentScaleTarget
from knpy.autoscaler.scaletarget import Pod, ScaleTarget
from knpy.runtime.k8s import ApiError, Resource


class ScaleAPI:
    """Records patches with their subresource; serves one Deployment."""

    def __init__(self, replicas: int | None = None) -> None:
        self.patches: list[tuple[str, str, str, Any, str | None]] = []
        self.replicas = replicas

    async def get(self, res: Resource, namespace: str | None, name: str) -> dict:
        if self.replicas is None:
            raise ApiError(404, "NotFound", {"reason": "NotFound"})
        return {"metadata": {"name": name, "namespace": namespace},
                "spec": {"replicas": self.replicas}}

    async def patch(self, res: Resource, namespace: str | None, name: str, patch: object,
                    *, subresource: str | None = None) -> dict:
        self.patches.append((res.plural, namespace or "", name, patch, subresource))
        return {}


def eps(*subsets: dict) -> dict:
    return {"metadata": {"name": "r-private", "namespace": "ns"}, "subsets": list(subsets)}


async def test_set_scale_patches_the_scale_subresource() -> None:
    api = ScaleAPI()
    t = DeploymentScaleTarget(api, "ns", "r-deployment")
    assert isinstance(t, ScaleTarget)
    assert t.desired == -1
    await t.set_scale(3)
    await t.set_scale(-2)  # never a negative replica count
    assert api.patches == [
        (DEPLOYMENTS.plural, "ns", "r-deployment", {"spec": {"replicas": 3}}, "scale"),
        (DEPLOYMENTS.plural, "ns", "r-deployment", {"spec": {"replicas": 0}}, "scale")]
    assert t.desired == 0


async def test_load_starts_from_the_deployments_replicas() -> None:
    t = DeploymentScaleTarget(ScaleAPI(replicas=4), "ns", "d")
    assert await t.load()
    assert t.desired == 4
    missing = DeploymentScaleTarget(ScaleAPI(), "ns", "d")
    assert not await missing.load()
    assert missing.desired == -1


def test_ready_pods_from_endpoints() -> None:
    t = DeploymentScaleTarget(ScaleAPI(), "ns", "d")
    ports = [{"name": "http", "port": 8012}, {"name": "http-autometric", "port": 9090}]
    changed = t.set_endpoints(eps(
        {"addresses": [{"ip": "10.0.0.2", "targetRef": {"name": "pod-b"}}, {"ip": "10.0.0.1"}],
         "notReadyAddresses": [{"ip": "10.0.0.9"}], "ports": ports}))
    assert changed
    assert list(t.ready_pods()) == [
        Pod("10.0.0.1:9090", "10.0.0.1:8012", "http://10.0.0.1:9090/metrics"),
        Pod("pod-b", "10.0.0.2:8012", "http://10.0.0.2:9090/metrics")]
    assert not t.set_endpoints(eps({"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2",
                                    "targetRef": {"name": "pod-b"}}], "ports": ports}))
    assert t.set_endpoints(None) and list(t.ready_pods()) == []


def test_metrics_port_default_and_host_override() -> None:
    # No named metrics port: 9090; metrics_host (tests' stat pods on loopback) replaces the IP.
    t = DeploymentScaleTarget(ScaleAPI(), "ns", "d", metrics_host="127.0.0.1")
    t.set_endpoints(eps({"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 8012}]},
                        {"addresses": [{"ip": "10.0.0.3"}],
                         "ports": [{"name": "http", "port": 8012},
                                   {"name": "http-autometric", "port": 31001}]}))
    assert [p.metrics_url for p in t.ready_pods()] == [
        "http://127.0.0.1:9090/metrics", "http://127.0.0.1:31001/metrics"]
    assert [p.address for p in t.ready_pods()] == ["10.0.0.1:8012", "10.0.0.3:8012"]
