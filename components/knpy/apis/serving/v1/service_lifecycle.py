"""Service status: ConfigurationsReady + RoutesReady -> Ready, and the propagation of its
Configuration's and Route's status (url, address, traffic, latest revisions), as Knative's
service_lifecycle.go does."""

from __future__ import annotations

import copy
from typing import Any

from knpy.apis.duck.conditions import FALSE, TRUE, ConditionManager, ConditionSet

__all__ = ["SERVICE_CONDITIONS", "ServiceStatus"]

READY = "Ready"
CONFIGURATIONS_READY = "ConfigurationsReady"
ROUTES_READY = "RoutesReady"

SERVICE_CONDITIONS = ConditionSet(CONFIGURATIONS_READY, ROUTES_READY)


class ServiceStatus:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    @property
    def conditions(self) -> ConditionManager:
        return SERVICE_CONDITIONS.manage(self.raw)

    def is_ready(self) -> bool:
        return self.conditions.is_happy()

    @property
    def url(self) -> str | None:
        return self.raw.get("url")

    def _propagate(self, type_: str, child: dict[str, Any]) -> None:
        cond = next((c for c in child.get("conditions") or [] if c.get("type") == READY),
                    None)
        if cond is None:
            return
        status = cond.get("status")
        if status == TRUE:
            self.conditions.mark_true(type_)
        elif status == FALSE:
            self.conditions.mark_false(type_, cond.get("reason", ""), cond.get("message", ""))
        else:
            self.conditions.mark_unknown(type_, cond.get("reason", ""),
                                         cond.get("message", ""))

    def propagate_configuration_status(self, cfg_status: dict[str, Any]) -> None:
        for key in ("latestCreatedRevisionName", "latestReadyRevisionName"):
            if cfg_status.get(key):
                self.raw[key] = cfg_status[key]
            else:
                self.raw.pop(key, None)
        self._propagate(CONFIGURATIONS_READY, cfg_status)

    def propagate_route_status(self, route_status: dict[str, Any]) -> None:
        for key in ("url", "address", "traffic"):
            if route_status.get(key) is not None:
                self.raw[key] = copy.deepcopy(route_status[key])
            else:
                self.raw.pop(key, None)
        self._propagate(ROUTES_READY, route_status)

    def mark_configuration_not_owned(self, name: str) -> None:
        self.conditions.mark_false(
            CONFIGURATIONS_READY, "NotOwned",
            f"There is an existing Configuration {name!r} that we do not own.")

    def mark_route_not_owned(self, name: str) -> None:
        self.conditions.mark_false(ROUTES_READY, "NotOwned",
                                   f"There is an existing Route {name!r} that we do not own.")

    def mark_configuration_not_reconciled(self) -> None:
        self.conditions.mark_unknown(
            CONFIGURATIONS_READY, "OutOfDate",
            "The Configuration is still working to reflect the latest desired specification.")

    def mark_route_not_reconciled(self) -> None:
        self.conditions.mark_unknown(
            ROUTES_READY, "OutOfDate",
            "The Route is still working to reflect the latest desired specification.")

    def mark_route_not_yet_ready(self) -> None:
        self.conditions.mark_unknown(ROUTES_READY, "TrafficNotMigrated",
                                     "Traffic is not yet migrated to the latest revision.")

    def mark_revision_name_taken(self, name: str) -> None:
        self.conditions.mark_false(ROUTES_READY, "RevisionNameTaken",
                                   f"The revision name {name!r} is taken by another service")
