"""Ingress (KIngress) status: NetworkConfigured + LoadBalancerReady -> Ready, and the
load balancers (`publicLoadBalancer`/`privateLoadBalancer` `ingress[].domainInternal`)
that carry its traffic (Knative's ingress_lifecycle.go)."""

from __future__ import annotations

from typing import Any

from knpy.apis.duck.conditions import FALSE, TRUE, ConditionManager, ConditionSet

__all__ = ["INGRESS_CONDITIONS", "IngressOwnerStatus", "IngressStatus"]

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



class IngressOwnerStatus:
    """IngressReady and CertificateProvisioned of a KIngress's owner (a Route's or a
    DomainMapping's status; Knative's reasons and messages)."""

    INGRESS_READY = "IngressReady"
    CERTIFICATE_PROVISIONED = "CertificateProvisioned"

    @property
    def conditions(self) -> ConditionManager:
        raise NotImplementedError

    def mark_ingress_not_configured(self) -> None:
        self.conditions.mark_unknown(self.INGRESS_READY, "IngressNotConfigured",
                                     "Ingress has not yet been reconciled.")

    def mark_ingress_not_owned(self, name: str) -> None:
        self.conditions.mark_false(self.INGRESS_READY, "NotOwned",
                                   f"There is an existing Ingress {name!r} that we do not own.")

    def propagate_ingress_status(self, ingress_status: dict[str, Any]) -> None:
        """IngressReady from the KIngress's Ready."""
        ready = next((c for c in ingress_status.get("conditions") or []
                      if c.get("type") == "Ready"), None)
        cm = self.conditions
        if ready is None:
            self.mark_ingress_not_configured()
        elif ready.get("status") == TRUE:
            cm.mark_true(self.INGRESS_READY)
        elif ready.get("status") == FALSE:
            cm.mark_false(self.INGRESS_READY, ready.get("reason", ""), ready.get("message", ""))
        else:
            cm.mark_unknown(self.INGRESS_READY, ready.get("reason", ""),
                            ready.get("message", ""))

    def mark_tls_not_enabled(self, message: str = "external-domain-tls is not enabled") -> None:
        self.conditions.mark_true(self.CERTIFICATE_PROVISIONED, "TLSNotEnabled", message)
