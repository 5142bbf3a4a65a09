"""Small helpers shared by the sources integration tests."""

from __future__ import annotations

from typing import Any

from knpy.controller.sources.resources import DEPLOYMENTS
from knpy.runtime.k8s import ApiError, Client
from tests.support.apiserver import get_or_none
from tests.support.poll import eventually


def cond(obj: dict, type_: str) -> dict:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c["type"] == type_:
            return c
    return {}


def source(kind: str, ns: str, name: str, **spec: Any) -> dict:
    return {"apiVersion": "sources.knative.dev/v1", "kind": kind,
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


def deployment(ns: str, name: str, labels: dict[str, str] | None = None,
               containers: int = 1) -> dict:
    lab = labels or {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns, "labels": lab},
            "spec": {"replicas": 1, "selector": {"matchLabels": lab},
                     "template": {"metadata": {"labels": lab}, "spec": {"containers": [
                         {"name": f"c{i}", "image": "example.invalid/app",
                          "env": [{"name": "KEEP", "value": "me"}]}
                         for i in range(containers)]}}}}


async def make_available(client: Client, ns: str, name: str) -> None:
    """No kube-controller-manager here: mark a Deployment available through /status."""
    dep = await eventually(lambda: _get(client, ns, name), 20, what=f"deployment {name}")
    dep["status"] = {"replicas": 1, "availableReplicas": 1, "readyReplicas": 1,
                     "conditions": [{"type": "Available", "status": "True",
                                     "reason": "MinimumReplicasAvailable"}]}
    await client.update_status(DEPLOYMENTS, dep)


async def _get(client: Client, ns: str, name: str) -> dict | None:
    return await get_or_none(client, DEPLOYMENTS, ns, name)


def env_of(dep: dict, i: int = 0) -> dict[str, str]:
    c = dep["spec"]["template"]["spec"]["containers"][i]
    return {e["name"]: e.get("value", "") for e in c.get("env") or []}


async def until(fetch, pred, within: float = 20.0, what: str = "condition") -> Any:
    async def check():
        try:
            o = await fetch()
        except ApiError as exc:
            if exc.not_found:
                return None
            raise
        return o if pred(o) else None
    return await eventually(check, within, every=0.05, what=what)
