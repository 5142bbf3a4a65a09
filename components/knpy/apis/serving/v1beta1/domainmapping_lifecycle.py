"""DomainMapping status: url, address; DomainClaimed, ReferenceResolved, IngressReady,
CertificateProvisioned -> Ready (Knative's domainmapping_lifecycle.go reasons)."""

from __future__ import annotations

from typing import Any

from knpy.apis.duck.conditions import ConditionManager, ConditionSet
from knpy.apis.networking.v1alpha1.ingress_lifecycle import IngressOwnerStatus

__all__ = ["DOMAIN_MAPPING_CONDITIONS", "DomainMappingStatus"]

DOMAIN_CLAIMED = "DomainClaimed"
REFERENCE_RESOLVED = "ReferenceResolved"
INGRESS_READY = "IngressReady"
CERTIFICATE_PROVISIONED = "CertificateProvisioned"

DOMAIN_MAPPING_CONDITIONS = ConditionSet(DOMAIN_CLAIMED, REFERENCE_RESOLVED, INGRESS_READY,
                                         CERTIFICATE_PROVISIONED)


class DomainMappingStatus(IngressOwnerStatus):
    # IngressReady, CertificateProvisioned (TLSNotEnabled): IngressOwnerStatus
    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    @property
    def conditions(self) -> ConditionManager:
        return DOMAIN_MAPPING_CONDITIONS.manage(self.raw)

    def is_ready(self) -> bool:
        return self.conditions.is_happy()

    def set_url(self, url: str) -> None:
        self.raw["url"] = url
        self.raw["address"] = {"url": url}

    # ------------------------------------------------------------ DomainClaimed
    def mark_domain_claimed(self) -> None:
        self.conditions.mark_true(DOMAIN_CLAIMED)

    def mark_domain_claim_not_owned(self, owner_namespace: str) -> None:
        # Knative's message, plus who holds the claim (it does not say)
        self.conditions.mark_false(
            DOMAIN_CLAIMED, "DomainAlreadyClaimed",
            "The domain name is already in use by another DomainMapping "
            f"(ClusterDomainClaim for namespace {owner_namespace!r})")

    def mark_domain_claim_failed(self, message: str) -> None:
        self.conditions.mark_false(DOMAIN_CLAIMED, "DomainClaimFailed", message)

    # ------------------------------------------------------------ ReferenceResolved
    def mark_reference_resolved(self) -> None:
        self.conditions.mark_true(REFERENCE_RESOLVED)

    def mark_reference_not_resolved(self, message: str) -> None:
        self.conditions.mark_false(REFERENCE_RESOLVED, "ResolveFailed", message)
