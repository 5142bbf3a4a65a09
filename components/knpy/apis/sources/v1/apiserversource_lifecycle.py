"""ApiServerSource status: sinkUri, ceAttributes and Knative's conditions (SinkProvided,
Deployed: its adapter Deployment is available, SufficientPermissions: its service account
may get/list/watch every resource)."""

from __future__ import annotations

from knpy.apis.duck.conditions import ConditionSet
from knpy.apis.sources.v1.pingsource_lifecycle import DEPLOYED, SINK_PROVIDED, SinkStatus

__all__ = ["APISERVERSOURCE_CONDITIONS", "ApiServerSourceStatus"]

SUFFICIENT_PERMISSIONS = "SufficientPermissions"

APISERVERSOURCE_CONDITIONS = ConditionSet(SINK_PROVIDED, DEPLOYED, SUFFICIENT_PERMISSIONS)


class ApiServerSourceStatus(SinkStatus):
    cset = APISERVERSOURCE_CONDITIONS

    def mark_deployed(self) -> None:
        self.conditions.mark_true(DEPLOYED)

    def mark_not_deployed(self, reason: str, message: str) -> None:
        self.conditions.mark_unknown(DEPLOYED, reason, message)

    def mark_sufficient_permissions(self) -> None:
        self.conditions.mark_true(SUFFICIENT_PERMISSIONS)

    def mark_no_permissions(self, reason: str, message: str) -> None:
        self.conditions.mark_false(SUFFICIENT_PERMISSIONS, reason, message)
