"""Route status: url, address, traffic[]; AllTrafficAssigned, IngressReady,
CertificateProvisioned -> Ready (Knative's route_lifecycle.go reasons and messages)."""

from __future__ import annotations

from typing import Any

from knpy.apis.duck.conditions import ConditionManager, ConditionSet
from knpy.apis.networking.v1alpha1.ingress_lifecycle import IngressOwnerStatus

__all__ = ["ROUTE_CONDITIONS", "RouteStatus"]

ALL_TRAFFIC_ASSIGNED = "AllTrafficAssigned"
INGRESS_READY = "IngressReady"
CERTIFICATE_PROVISIONED = "CertificateProvisioned"

ROUTE_CONDITIONS = ConditionSet(ALL_TRAFFIC_ASSIGNED, INGRESS_READY, CERTIFICATE_PROVISIONED)


class RouteStatus(IngressOwnerStatus):
    # IngressReady, CertificateProvisioned (TLSNotEnabled): IngressOwnerStatus
    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    @property
    def conditions(self) -> ConditionManager:
        return ROUTE_CONDITIONS.manage(self.raw)

    def is_ready(self) -> bool:
        return self.conditions.is_happy()

    @property
    def url(self) -> str | None:
        return self.raw.get("url")

    @property
    def traffic(self) -> list[dict[str, Any]]:
        return self.raw.get("traffic") or []

    def set_url(self, url: str | None, address_url: str | None = None) -> None:
        for key, v in (("url", url), ("address", {"url": address_url} if address_url
                                      else None)):
            if v is None:
                self.raw.pop(key, None)
            else:
                self.raw[key] = v

    def set_traffic(self, traffic: list[dict[str, Any]]) -> None:
        self.raw["traffic"] = traffic

    # ------------------------------------------------------------ AllTrafficAssigned
    def mark_traffic_assigned(self) -> None:
        self.conditions.mark_true(ALL_TRAFFIC_ASSIGNED)

    def mark_unknown_traffic_error(self, message: str) -> None:
        self.conditions.mark_unknown(ALL_TRAFFIC_ASSIGNED, "Unknown", message)

    def mark_configuration_not_ready(self, name: str) -> None:
        self.conditions.mark_unknown(
            ALL_TRAFFIC_ASSIGNED, "RevisionMissing",
            f"Configuration {name!r} is waiting for a Revision to become ready.")

    def mark_configuration_failed(self, name: str) -> None:
        self.conditions.mark_false(
            ALL_TRAFFIC_ASSIGNED, "RevisionMissing",
            f"Configuration {name!r} does not have any ready Revision.")

    def mark_revision_not_ready(self, name: str) -> None:
        self.conditions.mark_unknown(ALL_TRAFFIC_ASSIGNED, "RevisionMissing",
                                     f"Revision {name!r} is not yet ready.")

    def mark_revision_failed(self, name: str) -> None:
        self.conditions.mark_false(ALL_TRAFFIC_ASSIGNED, "RevisionMissing",
                                   f"Revision {name!r} failed to become ready.")

    def mark_missing_traffic_target(self, kind: str, name: str) -> None:
        self.conditions.mark_false(ALL_TRAFFIC_ASSIGNED, f"{kind}Missing",
                                   f"{kind} {name!r} referenced in traffic not found.")

    # ------------------------------------------------------------ CertificateProvisioned
    def mark_certificate_ready(self, name: str) -> None:
        self.conditions.mark_true(CERTIFICATE_PROVISIONED)

    def mark_certificate_not_ready(self, name: str) -> None:
        self.conditions.mark_unknown(CERTIFICATE_PROVISIONED, "CertificateNotReady",
                                     f"Certificate {name} is not ready.")

    def mark_certificate_provision_failed(self, name: str) -> None:
        self.conditions.mark_false(CERTIFICATE_PROVISIONED, "CertificateProvisionFailed",
                                   f"Certificate {name} fails to be provisioned.")
