"""SinkBinding status: sinkUri and its conditions (SinkProvided, BindingAvailable: every
subject found carries the injected env)."""

from __future__ import annotations

from knpy.apis.duck.conditions import ConditionSet
from knpy.apis.sources.v1.pingsource_lifecycle import SINK_PROVIDED, SinkStatus

__all__ = ["SINKBINDING_CONDITIONS", "SinkBindingStatus"]

BINDING_AVAILABLE = "BindingAvailable"

SINKBINDING_CONDITIONS = ConditionSet(SINK_PROVIDED, BINDING_AVAILABLE)


class SinkBindingStatus(SinkStatus):
    cset = SINKBINDING_CONDITIONS

    def mark_bound(self, count: int) -> None:
        self.conditions.mark_true(BINDING_AVAILABLE, "" if count else "NoSubjects",
                                  "" if count else "no subject matches (yet)")

    def mark_binding_failed(self, reason: str, message: str) -> None:
        self.conditions.mark_false(BINDING_AVAILABLE, reason, message)

    def mark_binding_unknown(self, reason: str, message: str) -> None:
        self.conditions.mark_unknown(BINDING_AVAILABLE, reason, message)
