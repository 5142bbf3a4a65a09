"""Configuration status: latestCreatedRevisionName, latestReadyRevisionName and Ready
(Knative's configuration_lifecycle.go: Ready follows the latest created revision)."""

from __future__ import annotations

from typing import Any

from knpy.apis.duck.conditions import ConditionManager, ConditionSet

__all__ = ["CONFIGURATION_CONDITIONS", "ConfigurationStatus"]

READY = "Ready"
REASON_REVISION_FAILED = "RevisionFailed"
REASON_LATEST_READY_DELETED = "RevisionDeleted"

CONFIGURATION_CONDITIONS = ConditionSet()


class ConfigurationStatus:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    @property
    def conditions(self) -> ConditionManager:
        return CONFIGURATION_CONDITIONS.manage(self.raw)

    def is_ready(self) -> bool:
        return self.conditions.is_happy()

    @property
    def latest_created_revision_name(self) -> str:
        return self.raw.get("latestCreatedRevisionName") or ""

    @property
    def latest_ready_revision_name(self) -> str:
        return self.raw.get("latestReadyRevisionName") or ""

    def set_latest_created_revision_name(self, name: str) -> None:
        self.raw["latestCreatedRevisionName"] = name
        if self.latest_ready_revision_name != name:
            self.conditions.mark_unknown(READY, "", "")

    def set_latest_ready_revision_name(self, name: str) -> None:
        self.raw["latestReadyRevisionName"] = name
        if self.latest_created_revision_name == name:
            self.conditions.mark_true(READY)

    def mark_latest_created_failed(self, name: str, message: str) -> None:
        self.conditions.mark_false(READY, REASON_REVISION_FAILED,
                                   f"Revision {name!r} failed with message: {message}.")

    def mark_revision_creation_failed(self, message: str) -> None:
        self.conditions.mark_false(READY, REASON_REVISION_FAILED,
                                   f"Revision creation failed with message: {message}.")

    def mark_latest_ready_deleted(self) -> None:
        name = self.latest_ready_revision_name
        self.raw.pop("latestReadyRevisionName", None)
        self.conditions.mark_false(READY, REASON_LATEST_READY_DELETED,
                                   f"Revision {name!r} was deleted.")
