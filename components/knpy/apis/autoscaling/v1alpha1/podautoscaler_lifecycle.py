"""PodAutoscaler status: Active, ScaleTargetInitialized, SKSReady (Ready needs all three),
serviceName / metricsServiceName, desiredScale / actualScale (Knative's
pkg/apis/autoscaling/v1alpha1/pa_lifecycle.go)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from knpy.apis.duck.conditions import FALSE, TRUE, UNKNOWN, ConditionManager, ConditionSet

__all__ = ["PA_CONDITIONS", "PodAutoscalerStatus"]

ACTIVE = "Active"
SCALE_TARGET_INITIALIZED = "ScaleTargetInitialized"
SKS_READY = "SKSReady"

REASON_QUEUED = "Queued"
REASON_NO_TRAFFIC = "NoTraffic"
REASON_NOT_OWNED = "NotOwned"
REASON_FAILED_CREATE = "FailedCreate"

PA_CONDITIONS = ConditionSet(ACTIVE, SCALE_TARGET_INITIALIZED, SKS_READY)


def _parse_time(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    except (TypeError, ValueError):
        return None


class PodAutoscalerStatus:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    @property
    def conditions(self) -> ConditionManager:
        return PA_CONDITIONS.manage(self.raw)

    def is_ready(self) -> bool:
        return self.conditions.is_happy()

    def is_active(self) -> bool:
        return self.conditions.is_true(ACTIVE)

    def is_activating(self) -> bool:
        c = self.conditions.get(ACTIVE)
        return c is not None and c.get("status") == UNKNOWN

    def is_inactive(self) -> bool:
        c = self.conditions.get(ACTIVE)
        return c is not None and c.get("status") == FALSE

    def is_scale_target_initialized(self) -> bool:
        return self.conditions.is_true(SCALE_TARGET_INITIALIZED)

    def is_sks_ready(self) -> bool:
        return self.conditions.is_true(SKS_READY)

    @property
    def service_name(self) -> str:
        return self.raw.get("serviceName") or ""

    @service_name.setter
    def service_name(self, name: str) -> None:
        self.raw["serviceName"] = name

    @property
    def metrics_service_name(self) -> str:
        return self.raw.get("metricsServiceName") or ""

    @metrics_service_name.setter
    def metrics_service_name(self, name: str) -> None:
        self.raw["metricsServiceName"] = name

    @property
    def desired_scale(self) -> int | None:
        return self.raw.get("desiredScale")

    @property
    def actual_scale(self) -> int | None:
        return self.raw.get("actualScale")

    def set_scales(self, desired: int | None, actual: int | None) -> None:
        for key, v in (("desiredScale", desired), ("actualScale", actual)):
            if v is None:
                self.raw.pop(key, None)
            else:
                self.raw[key] = v

    # ------------------------------------------------------------------ transitions
    def mark_active(self) -> None:
        self.conditions.mark_true(ACTIVE)

    def mark_activating(self, reason: str, message: str = "") -> None:
        self.conditions.mark_unknown(ACTIVE, reason, message)

    def mark_inactive(self, reason: str, message: str = "") -> None:
        self.conditions.mark_false(ACTIVE, reason, message)

    def mark_scale_target_initialized(self) -> None:
        self.conditions.mark_true(SCALE_TARGET_INITIALIZED)

    def mark_sks_ready(self) -> None:
        self.conditions.mark_true(SKS_READY)

    def mark_sks_not_ready(self, message: str) -> None:
        self.conditions.mark_unknown(SKS_READY, "NotReady", message)

    def mark_resource_not_owned(self, kind: str, name: str) -> None:
        self.mark_inactive(REASON_NOT_OWNED,
                           f"There is an existing {kind} {name!r} that we do not own.")

    def mark_resource_failed_creation(self, kind: str, name: str) -> None:
        self.mark_inactive(REASON_FAILED_CREATE, f"Failed to create {kind} {name!r}.")

    # ------------------------------------------------------------------ timing
    def _active_since(self, status: str) -> dt.datetime | None:
        c = self.conditions.get(ACTIVE)
        if not c or c.get("status") != status:
            return None
        return _parse_time(c.get("lastTransitionTime", ""))

    def inactive_for(self, now: dt.datetime) -> float:
        """Seconds since Active turned False (-1 when it is not False)."""
        since = self._active_since(FALSE)
        return -1.0 if since is None else (now - since).total_seconds()

    def active_for(self, now: dt.datetime) -> float:
        """Seconds since Active turned True (-1 when it is not True)."""
        since = self._active_since(TRUE)
        return -1.0 if since is None else (now - since).total_seconds()

    def can_scale_to_zero(self, now: dt.datetime, grace: float) -> bool:
        """Inactive for at least the grace period (Knative's CanScaleToZero)."""
        return self.inactive_for(now) >= grace
