"""Ingress (KIngress) status: NetworkConfigured + LoadBalancerReady -> Ready, and the
load balancers (`publicLoadBalancer`/`privateLoadBalancer` `ingress[].domainInternal`)
that carry its traffic (Knative's ingress_lifecycle.go)."""

from __future__ import annotations

from typing import Any

from knpy.apis.duck.conditions import ConditionManager, ConditionSet

__all__ = ["INGRESS_CONDITIONS", "IngressStatus"]

NETWORK_CONFIGURED = "NetworkConfigured"
LOAD_BALANCER_READY = "LoadBalancerReady"

INGRESS_CONDITIONS = ConditionSet(NETWORK_CONFIGURED, LOAD_BALANCER_READY)


class IngressStatus:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    @property
    def conditions(self) -> ConditionManager:
        return INGRESS_CONDITIONS.manage(self.raw)

    def is_ready(self) -> bool:
        return self.conditions.is_happy()

    def mark_network_configured(self) -> None:
        self.conditions.mark_true(NETWORK_CONFIGURED)

    def mark_load_balancer_ready(self, public: str, private: str) -> None:
        """Ready, with the in-cluster host names of the gateway that routes it."""
        self.raw["publicLoadBalancer"] = {"ingress": [{"domainInternal": public}]}
        self.raw["privateLoadBalancer"] = {"ingress": [{"domainInternal": private}]}
        self.conditions.mark_true(LOAD_BALANCER_READY)

    def mark_load_balancer_not_ready(self) -> None:
        self.conditions.mark_unknown(LOAD_BALANCER_READY, "Uninitialized",
                                     "Waiting for load balancer to be ready")

    def mark_ingress_not_ready(self, reason: str, message: str) -> None:
        self.conditions.mark_unknown(NETWORK_CONFIGURED, reason, message)

    def private_domain(self) -> str:
        """The private load balancer's in-cluster host ("" until the gateway says)."""
        lbs = (self.raw.get("privateLoadBalancer") or {}).get("ingress") or []
        return next((lb.get("domainInternal") or "" for lb in lbs), "")
