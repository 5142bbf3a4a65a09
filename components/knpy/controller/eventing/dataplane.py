"""Is an object's contract entry served by the broker data plane yet?

Ready must never be ahead of the data plane: an event sent the moment a Broker or Trigger
turns Ready has to be accepted and delivered. The contract ConfigMap says since which
generation it holds an object's current entry (contract.entry_generation); every broker pod
writes the generation it has applied onto its own Pod (annotation
`eventing.knpy.dev/contract-generation`, and the map's uid in `eventing.knpy.dev/contract-uid`;
see knpy.broker.report). An entry is served once the role's Deployment is Available and
every ready pod it selects serves that generation or a later one of the same map. Pods are
what the Deployment selects (spec.selector.matchLabels), so no second list of names has to
agree with the chart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from knpy.apis.eventing.config import EventingConfig
from knpy.controller.eventing.contract import entry_generation
from knpy.runtime.contract.eventing import GENERATION_ANNOTATION, SOURCE_ANNOTATION
from knpy.runtime.k8s import Lister

__all__ = ["DataPlane", "Served"]


@dataclass(frozen=True, slots=True)
class Served:
    ok: bool
    reason: str = ""
    message: str = ""


def _deployment_available(d: dict | None) -> tuple[bool, str]:
    if d is None:
        return False, "deployment not found"
    for c in (d.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Available":
            return c.get("status") == "True", c.get("message", "")
    return False, "no Available condition yet"


def _pod_ready(p: dict) -> bool:
    if p["metadata"].get("deletionTimestamp"):
        return False
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (p.get("status") or {}).get("conditions") or [])


def _served(p: dict, uid: str) -> int:
    """The generation a pod reports, counted only if it came from this ConfigMap (`uid`;
    a re-created map counts from 1 again)."""
    ann = p["metadata"].get("annotations") or {}
    if uid and ann.get(SOURCE_ANNOTATION) != uid:
        return 0
    try:
        return int(ann.get(GENERATION_ANNOTATION) or 0)
    except ValueError:
        return 0


class DataPlane:
    def __init__(self, configmaps: Lister, deployments: Lister | None, pods: Lister | None, *,
                 system_namespace: str, contract_name: str,
                 config: Callable[[], EventingConfig]) -> None:
        self.configmaps, self.deployments, self.pods = configmaps, deployments, pods
        self.namespace = system_namespace
        self.contract_name = contract_name
        self.config = config

    def roles(self) -> tuple[tuple[str, str], ...]:
        """(role, Deployment name) of the ingress and the dispatcher ("" = not gated)."""
        cfg = self.config()
        return (("ingress", cfg.ingress_deployment), ("dispatcher", cfg.dispatcher_deployment))

    def served_by_all(self, kind: str, key: str, expected: dict | None) -> Served:
        """`serves` for every role: the first role that does not, else ok."""
        for _role, dep_name in self.roles():
            served = self.serves(kind, key, expected, dep_name)
            if not served.ok:
                return served
        return Served(True)

    def serves(self, kind: str, key: str, expected: dict | None, deployment: str) -> Served:
        """Whether the pods of `deployment` serve `expected` as the entry of `key` (kind
        "brokers" or "triggers"). Without a Deployment name the contract alone counts."""
        what = kind[:-1]
        cm = self.configmaps.get(self.namespace, self.contract_name)
        gen = entry_generation(cm, kind, key, expected)
        if gen is None:
            return Served(False, "ContractPending",
                          f"the {what} is not in the data-plane contract yet")
        if not deployment or self.deployments is None:
            return Served(True)
        dep = self.deployments.get(self.namespace, deployment)
        ok, msg = _deployment_available(dep)
        if not ok or dep is None:
            return Served(False, "DeploymentUnavailable", f"{deployment}: {msg}")
        if self.pods is None:
            return Served(True)
        sel = ((dep.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        uid = ((cm or {}).get("metadata") or {}).get("uid", "")
        lagging = sorted(
            f"{p['metadata']['name']} serves {_served(p, uid)}"
            for p in self.pods.list(self.namespace, where=lambda p: all(
                (p["metadata"].get("labels") or {}).get(k) == v for k, v in sel.items()))
            if _pod_ready(p) and _served(p, uid) < gen)
        if lagging:
            return Served(False, "DataPlaneNotReady",
                          f"{deployment}: waiting for contract generation {gen} (with this "
                          f"{what}) to be served: {', '.join(lagging[:3])}"
                          + (f" and {len(lagging) - 3} more" if len(lagging) > 3 else ""))
        return Served(True)
