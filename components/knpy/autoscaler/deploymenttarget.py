"""A scale target backed by a Kubernetes Deployment (cluster mode).

Decisions go to the Deployment's scale subresource (`PATCH .../deployments/<name>/scale`,
as Knative's autoscaler does, so any controller of the replicas field sees them); the pods
to scrape are the ready addresses of the revision's private Service's Endpoints, which the
cluster watcher hands over with `set_endpoints`. A pod's stats are at
`http://<pod IP>:<port named http-autometric, else 9090>/metrics`; `metrics_host` replaces
the IP (tests run stat pods on 127.0.0.1, an address Endpoints may not carry).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

from knpy.autoscaler.scaletarget import Pod
from knpy.runtime.k8s import ApiError, Resource
from knpy.runtime.proxy.address import url_host

__all__ = [
    "DEPLOYMENTS",
    "ENDPOINTS",
    "METRICS_PORT",
    "METRICS_PORT_NAME",
    "SERVING_PORT_NAME",
    "DeploymentScaleTarget",
    "pods_from_endpoints",
]

log = logging.getLogger("knpy.autoscaler.deploymenttarget")

DEPLOYMENTS = Resource("apps", "v1", "deployments", "Deployment")
ENDPOINTS = Resource("", "v1", "endpoints", "Endpoints")
SERVING_PORT_NAME = "http"               # the queue-proxy's 8012 on the private Service
METRICS_PORT_NAME = "http-autometric"    # the queue-proxy's 9090 (Knative's name)
METRICS_PORT = 9090

Obj = dict[str, Any]


class ScaleClient(Protocol):
    """The two verbs of runtime.k8s.Client this target uses (tests pass a FakeClient)."""

    async def get(self, res: Resource, namespace: str | None, name: str) -> Obj: ...

    async def patch(self, res: Resource, namespace: str | None, name: str, patch: object,
                    *, subresource: str | None = None) -> Obj: ...


def _port(ports: list[Obj], name: str) -> int | None:
    for p in ports:
        if p.get("name") == name and p.get("port"):
            return int(p["port"])
    return None


def pods_from_endpoints(ep: Obj | None, *, metrics_host: str | None = None,
                        metrics_port: int = METRICS_PORT) -> list[Pod]:
    """Ready pods of an Endpoints object, sorted by address (notReadyAddresses are skipped:
    the queue-proxy reports no traffic until it is ready)."""
    pods = []
    for subset in (ep or {}).get("subsets") or []:
        ports = subset.get("ports") or []
        serving = _port(ports, SERVING_PORT_NAME) or (ports[0].get("port") if ports else None)
        metrics = _port(ports, METRICS_PORT_NAME) or metrics_port
        for addr in subset.get("addresses") or []:
            ip = addr.get("ip")
            if not ip:
                continue
            host = url_host(ip)
            mhost = metrics_host or host
            name = (addr.get("targetRef") or {}).get("name") or f"{host}:{metrics}"
            pods.append(Pod(name, f"{host}:{serving}" if serving else host,
                            f"http://{mhost}:{metrics}/metrics"))
    return sorted(pods, key=lambda p: (p.address, p.metrics_url))


class DeploymentScaleTarget:
    def __init__(self, client: ScaleClient, namespace: str, deployment: str, *,
                 metrics_host: str | None = None, metrics_port: int = METRICS_PORT) -> None:
        self.client = client
        self.namespace = namespace
        self.deployment = deployment
        self.metrics_host = metrics_host
        self.metrics_port = metrics_port
        self._desired = -1
        self._pods: list[Pod] = []
        self._not_ready = 0

    @property
    def desired(self) -> int:
        return self._desired

    def ready_pods(self) -> Sequence[Pod]:
        return self._pods

    def not_ready_count(self) -> int:
        return self._not_ready

    def set_endpoints(self, ep: Obj | None) -> bool:
        """New private Endpoints (None: gone); True when the ready pods changed."""
        pods = pods_from_endpoints(ep, metrics_host=self.metrics_host,
                                   metrics_port=self.metrics_port)
        self._not_ready = sum(len(s.get("notReadyAddresses") or [])
                              for s in (ep or {}).get("subsets") or [])
        changed = pods != self._pods
        self._pods = pods
        return changed

    async def load(self) -> bool:
        """Start from the Deployment's current replicas, so a restarted autoscaler never
        resets a busy revision to its initial scale. False when the Deployment is missing."""
        try:
            dep = await self.client.get(DEPLOYMENTS, self.namespace, self.deployment)
        except ApiError as exc:
            if not exc.not_found:
                raise
            return False
        replicas = (dep.get("spec") or {}).get("replicas")
        if isinstance(replicas, int):
            self._desired = replicas
        return True

    async def set_scale(self, replicas: int) -> None:
        replicas = max(0, replicas)
        await self.client.patch(DEPLOYMENTS, self.namespace, self.deployment,
                                {"spec": {"replicas": replicas}}, subresource="scale")
        log.info("scaled deployment %s/%s to %d", self.namespace, self.deployment, replicas)
        self._desired = replicas

    async def close(self) -> None:
        return None  # the Deployment belongs to the Revision, not to us
