"""ServerlessService status: serviceName (public), privateServiceName; Ready follows
EndpointsPopulated; ActivatorEndpointsPopulated is informational (Knative's
serverlessservice_lifecycle.go)."""

from __future__ import annotations

from typing import Any

from knpy.apis.duck.conditions import ConditionManager, ConditionSet

__all__ = ["SKS_CONDITIONS", "ServerlessServiceStatus"]

ENDPOINTS_POPULATED = "EndpointsPopulated"
ACTIVATOR_ENDPOINTS_POPULATED = "ActivatorEndpointsPopulated"
REASON_NO_HEALTHY_BACKENDS = "NoHealthyBackends"
REASON_NOT_OWNED = "NotOwned"

SKS_CONDITIONS = ConditionSet(ENDPOINTS_POPULATED)


class ServerlessServiceStatus:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    @property
    def conditions(self) -> ConditionManager:
        return SKS_CONDITIONS.manage(self.raw)

    def is_ready(self) -> bool:
        return self.conditions.is_happy()

    @property
    def service_name(self) -> str:
        return self.raw.get("serviceName") or ""

    @property
    def private_service_name(self) -> str:
        return self.raw.get("privateServiceName") or ""

    def set_service_names(self, public: str, private: str) -> None:
        self.raw["serviceName"] = public
        self.raw["privateServiceName"] = private

    def mark_endpoints_ready(self) -> None:
        self.conditions.mark_true(ENDPOINTS_POPULATED)

    def mark_endpoints_not_ready(self, reason: str) -> None:
        self.conditions.mark_unknown(ENDPOINTS_POPULATED, reason,
                                     "K8s Service is not ready")

    def mark_endpoints_not_owned(self, kind: str, name: str) -> None:
        self.conditions.mark_false(ENDPOINTS_POPULATED, REASON_NOT_OWNED,
                                   f"Resource {name} of type {kind} is not owned by SKS")

    def mark_activator_endpoints_populated(self) -> None:
        self.conditions.mark_true(ACTIVATOR_ENDPOINTS_POPULATED, "ActivatorEndpointsPopulated",
                                  "Revision is backed by Activator")

    def mark_activator_endpoints_removed(self) -> None:
        self.conditions.mark_false(ACTIVATOR_ENDPOINTS_POPULATED, "ActivatorEndpointsPopulated",
                                   "Revision is backed by Activator")

    def proxy_for(self) -> bool:
        """True while the activator is in the request path."""
        return self.conditions.is_true(ACTIVATOR_ENDPOINTS_POPULATED)
