"""Trigger status: subscriberUri, deadLetterSinkUri and the conditions the spec lists."""

from __future__ import annotations

from knpy.apis.duck.conditions import ConditionSet
from knpy.apis.duck.delivery import DEAD_LETTER_SINK_RESOLVED, DeliveryStatus

__all__ = ["TRIGGER_CONDITIONS", "TriggerStatus"]

BROKER_READY = "BrokerReady"
SUBSCRIBER_RESOLVED = "SubscriberResolved"
DEPENDENCY_READY = "DependencyReady"
# Knative's TriggerConditionSubscribed: the data plane delivers for this trigger.
SUBSCRIPTION_READY = "SubscriptionReady"

TRIGGER_CONDITIONS = ConditionSet(BROKER_READY, SUBSCRIPTION_READY, SUBSCRIBER_RESOLVED,
                                  DEPENDENCY_READY, DEAD_LETTER_SINK_RESOLVED)


class TriggerStatus(DeliveryStatus):
    cset = TRIGGER_CONDITIONS

    @property
    def subscriber_uri(self) -> str | None:
        return self.raw.get("subscriberUri")

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

    def mark_subscription_ready(self) -> None:
        self.conditions.mark_true(SUBSCRIPTION_READY)

    def mark_subscription_not_ready(self, reason: str, message: str) -> None:
        self.conditions.mark_unknown(SUBSCRIPTION_READY, reason, message)

    def mark_dependency_ready(self) -> None:
        self.conditions.mark_true(DEPENDENCY_READY)

    def mark_dependency_not_ready(self, reason: str, message: str) -> None:
        self.conditions.mark_unknown(DEPENDENCY_READY, reason, message)

    def mark_dependency_failed(self, reason: str, message: str) -> None:
        self.conditions.mark_false(DEPENDENCY_READY, reason, message)
