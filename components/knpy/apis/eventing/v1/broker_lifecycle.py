"""Broker status: address, dead-letter sink and the conditions the spec lists."""

from __future__ import annotations

from knpy.apis.duck.conditions import ConditionSet
from knpy.apis.duck.delivery import ADDRESSABLE, DEAD_LETTER_SINK_RESOLVED, AddressableStatus

__all__ = ["BROKER_CONDITIONS", "BrokerStatus"]

INGRESS_READY = "IngressReady"
FILTER_READY = "FilterReady"

BROKER_CONDITIONS = ConditionSet(INGRESS_READY, FILTER_READY, ADDRESSABLE,
                                 DEAD_LETTER_SINK_RESOLVED)


class BrokerStatus(AddressableStatus):
    cset = BROKER_CONDITIONS

    # --------------------------------------------------------------- transitions
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
