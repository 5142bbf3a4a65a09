"""Subscription status: physicalSubscription and the conditions Knative names."""

from __future__ import annotations

from knpy.apis.duck.conditions import ConditionSet, Status

__all__ = ["SUBSCRIPTION_CONDITIONS", "SubscriptionStatus"]

REFERENCES_RESOLVED = "ReferencesResolved"
ADDED_TO_CHANNEL = "AddedToChannel"
CHANNEL_READY = "ChannelReady"

SUBSCRIPTION_CONDITIONS = ConditionSet(REFERENCES_RESOLVED, ADDED_TO_CHANNEL, CHANNEL_READY)


class SubscriptionStatus(Status):
    cset = SUBSCRIPTION_CONDITIONS

    @property
    def physical(self) -> dict[str, str]:
        p = self.raw.get("physicalSubscription")
        return p if isinstance(p, dict) else {}

    def set_physical(self, subscriber: str | None, reply: str | None,
                     dead_letter_sink: str | None) -> None:
        p = {k: v for k, v in (("subscriberUri", subscriber), ("replyUri", reply),
                               ("deadLetterSinkUri", dead_letter_sink)) if v}
        if p:
            self.raw["physicalSubscription"] = p
        else:
            self.raw.pop("physicalSubscription", None)

    def mark_references_resolved(self) -> None:
        self.conditions.mark_true(REFERENCES_RESOLVED)

    def mark_references_not_resolved(self, reason: str, message: str) -> None:
        self.conditions.mark_false(REFERENCES_RESOLVED, reason, message)

    def mark_added_to_channel(self) -> None:
        self.conditions.mark_true(ADDED_TO_CHANNEL)

    def mark_not_added_to_channel(self, reason: str, message: str) -> None:
        self.conditions.mark_false(ADDED_TO_CHANNEL, reason, message)

    def mark_channel_ready(self) -> None:
        self.conditions.mark_true(CHANNEL_READY)

    def mark_channel_not_ready(self, reason: str, message: str) -> None:
        self.conditions.mark_unknown(CHANNEL_READY, reason, message)

    def mark_channel_failed(self, reason: str, message: str) -> None:
        self.conditions.mark_false(CHANNEL_READY, reason, message)
