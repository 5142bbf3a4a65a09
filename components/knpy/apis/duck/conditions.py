"""Knative-style status conditions: a living ConditionSet whose happy condition (Ready) is
derived from its dependents on every change.

Ready is True when every dependent is True, False (with the failing dependent's reason and
message) when any is False, else Unknown. lastTransitionTime only moves when the status
flips, so re-running an idempotent reconcile writes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, ClassVar

__all__ = ["FALSE", "TRUE", "UNKNOWN", "ConditionManager", "ConditionSet", "Status"]

TRUE, FALSE, UNKNOWN = "True", "False", "Unknown"


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ConditionSet:
    def __init__(self, *dependents: str, happy: str = "Ready") -> None:
        self.happy = happy
        self.dependents = dependents

    def manage(self, status: dict[str, Any], clock: Callable[[], str] = _now
               ) -> ConditionManager:
        return ConditionManager(self, status, clock)


class ConditionManager:
    def __init__(self, cset: ConditionSet, status: dict[str, Any],
                 clock: Callable[[], str]) -> None:
        self.cset = cset
        self.status = status
        self.clock = clock

    # ------------------------------------------------------------------ reading
    @property
    def conditions(self) -> list[dict[str, Any]]:
        return self.status.setdefault("conditions", [])

    def get(self, type_: str) -> dict[str, Any] | None:
        for c in self.status.get("conditions") or []:
            if c.get("type") == type_:
                return c
        return None

    def is_true(self, type_: str) -> bool:
        c = self.get(type_)
        return c is not None and c.get("status") == TRUE

    def is_happy(self) -> bool:
        return self.is_true(self.cset.happy)

    # ------------------------------------------------------------------ writing
    def initialize(self) -> None:
        """Every condition not yet present starts Unknown (knative's InitializeConditions)."""
        for t in (self.cset.happy, *self.cset.dependents):
            if self.get(t) is None:
                self._set(t, UNKNOWN, "", "")

    def mark_true(self, type_: str, reason: str = "", message: str = "") -> None:
        self._set(type_, TRUE, reason, message)
        self._recompute()

    def mark_false(self, type_: str, reason: str, message: str = "") -> None:
        self._set(type_, FALSE, reason, message)
        self._recompute()

    def mark_unknown(self, type_: str, reason: str, message: str = "") -> None:
        self._set(type_, UNKNOWN, reason, message)
        self._recompute()

    def _set(self, type_: str, status: str, reason: str, message: str) -> None:
        cond: dict[str, Any] = {"type": type_, "status": status}
        if reason:
            cond["reason"] = reason
        if message:
            cond["message"] = message
        old = self.get(type_)
        if old is not None and old.get("status") == status and old.get("lastTransitionTime"):
            cond["lastTransitionTime"] = old["lastTransitionTime"]
        else:
            cond["lastTransitionTime"] = self.clock()
        if old is not None and {k: v for k, v in old.items() if k != "lastTransitionTime"} == \
                {k: v for k, v in cond.items() if k != "lastTransitionTime"}:
            return
        conds = [c for c in self.conditions if c.get("type") != type_]
        conds.append(cond)
        conds.sort(key=lambda c: c.get("type", ""))
        self.status["conditions"] = conds

    def _recompute(self) -> None:
        if not self.cset.dependents:
            return
        unknown = None
        for t in self.cset.dependents:
            c = self.get(t)
            if c is not None and c.get("status") == FALSE:
                self._set(self.cset.happy, FALSE, c.get("reason", ""), c.get("message", ""))
                return
            if (c is None or c.get("status") != TRUE) and unknown is None:
                unknown = c or {"reason": "", "message": ""}
        if unknown is None:
            self._set(self.cset.happy, TRUE, "", "")
        else:
            self._set(self.cset.happy, UNKNOWN, unknown.get("reason", ""),
                      unknown.get("message", ""))


class Status:
    """A typed view over an object's raw `status` dict whose conditions follow `cset`; each
    kind's `*Status` subclass names its condition set and adds its transitions."""

    cset: ClassVar[ConditionSet]

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    @property
    def conditions(self) -> ConditionManager:
        return self.cset.manage(self.raw)

    def is_ready(self) -> bool:
        return self.conditions.is_happy()
