"""Broker status: address, dead-letter sink and the conditions the spec lists."""

from __future__ import annotations

from typing import Any

from knpy.apis.duck.conditions import ConditionManager, ConditionSet

__all__ = ["BROKER_CONDITIONS", "BrokerStatus"]

INGRESS_READY = "IngressReady"
FILTER_READY = "FilterReady"
ADDRESSABLE = "Addressable"
DLS_RESOLVED = "DeadLetterSinkResolved"

BROKER_CONDITIONS = ConditionSet(INGRESS_READY, FILTER_READY, ADDRESSABLE, DLS_RESOLVED)


class BrokerStatus:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    @property
    def conditions(self) -> ConditionManager:
        return BROKER_CONDITIONS.manage(self.raw)

    def is_ready(self) -> bool:
        return self.conditions.is_happy()

    @property
    def address_url(self) -> str | None:
        return (self.raw.get("address") or {}).get("url")

    @property
    def dead_letter_sink_uri(self) -> str | None:
        return self.raw.get("deadLetterSinkUri")

    # --------------------------------------------------------------- transitions
    def set_address(self, url: str | None) -> None:
        if url:
            self.raw["address"] = {"url": url}
            self.conditions.mark_true(ADDRESSABLE)
        else:
            self.raw.pop("address", None)
            self.conditions.mark_false(ADDRESSABLE, "NoAddress", "broker has no address")

    def mark_ingress_ready(self) -> None:
        self.conditions.mark_true(INGRESS_READY)

    def mark_ingress_not_ready(self, reason: str, message: str) -> None:
        self.conditions.mark_unknown(INGRESS_READY, reason, message)

    def mark_ingress_failed(self, reason: str, message: str) -> None:
        self.conditions.mark_false(INGRESS_READY, reason, message)

    def mark_filter_ready(self) -> None:
        self.conditions.mark_true(FILTER_READY)

    def mark_filter_not_ready(self, reason: str, message: str) -> None:
        self.conditions.mark_unknown(FILTER_READY, reason, message)

    def mark_filter_failed(self, reason: str, message: str) -> None:
        self.conditions.mark_false(FILTER_READY, reason, message)

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
