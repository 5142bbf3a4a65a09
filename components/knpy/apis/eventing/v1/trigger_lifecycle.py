"""Trigger status: subscriberUri, deadLetterSinkUri and the conditions the spec lists."""

from __future__ import annotations

from typing import Any

from knpy.apis.duck.conditions import ConditionManager, ConditionSet

__all__ = ["TRIGGER_CONDITIONS", "TriggerStatus"]

BROKER_READY = "BrokerReady"
SUBSCRIBER_RESOLVED = "SubscriberResolved"
DEPENDENCY_READY = "DependencyReady"
DLS_RESOLVED = "DeadLetterSinkResolved"

TRIGGER_CONDITIONS = ConditionSet(BROKER_READY, SUBSCRIBER_RESOLVED, DEPENDENCY_READY,
                                  DLS_RESOLVED)


class TriggerStatus:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    @property
    def conditions(self) -> ConditionManager:
        return TRIGGER_CONDITIONS.manage(self.raw)

    def is_ready(self) -> bool:
        return self.conditions.is_happy()

    @property
    def subscriber_uri(self) -> str | None:
        return self.raw.get("subscriberUri")

    @property
    def dead_letter_sink_uri(self) -> str | None:
        return self.raw.get("deadLetterSinkUri")

    def mark_broker_ready(self) -> None:
        self.conditions.mark_true(BROKER_READY)

    def mark_broker_not_ready(self, reason: str, message: str) -> None:
        self.conditions.mark_unknown(BROKER_READY, reason, message)

    def mark_broker_failed(self, reason: str, message: str) -> None:
        self.conditions.mark_false(BROKER_READY, reason, message)

    def mark_subscriber_resolved(self, uri: str) -> None:
        self.raw["subscriberUri"] = uri
        self.conditions.mark_true(SUBSCRIBER_RESOLVED)

    def mark_subscriber_failed(self, reason: str, message: str) -> None:
        self.raw.pop("subscriberUri", None)
        self.conditions.mark_false(SUBSCRIBER_RESOLVED, reason, message)

    def mark_dependency_ready(self) -> None:
        self.conditions.mark_true(DEPENDENCY_READY)

    def mark_dependency_not_ready(self, reason: str, message: str) -> None:
        self.conditions.mark_unknown(DEPENDENCY_READY, reason, message)

    def mark_dependency_failed(self, reason: str, message: str) -> None:
        self.conditions.mark_false(DEPENDENCY_READY, reason, message)

    def mark_dead_letter_sink_resolved(self, uri: str) -> None:
        self.raw["deadLetterSinkUri"] = uri
        self.conditions.mark_true(DLS_RESOLVED)

    def mark_dead_letter_sink_not_configured(self) -> None:
        self.raw.pop("deadLetterSinkUri", None)
        self.conditions.mark_true(DLS_RESOLVED, "DeadLetterSinkNotConfigured",
                                  "No dead letter sink is configured.")

    def mark_dead_letter_sink_failed(self, reason: str, message: str) -> None:
        self.raw.pop("deadLetterSinkUri", None)
        self.conditions.mark_false(DLS_RESOLVED, reason, message)
