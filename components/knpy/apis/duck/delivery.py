"""DeliverySpec and DeliveryStatus (duckv1): types, validation and the broker defaults.

Durations stay ISO-8601 strings in the API (as Knative); validation parses them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from knpy.apis.duck.conditions import Status
from knpy.apis.duck.destination import Destination
from knpy.runtime.config import FieldError, parse_iso8601_duration

__all__ = ["ADDRESSABLE", "BACKOFF_POLICIES", "DEAD_LETTER_SINK_RESOLVED",
           "DEFAULT_BROKER_DELIVERY", "AddressableStatus", "DeliverySpec", "DeliveryStatus"]

BACKOFF_POLICIES = ("exponential", "linear")
DEFAULT_BROKER_DELIVERY: dict[str, Any] = {
    "retry": 10, "backoffPolicy": "exponential", "backoffDelay": "PT0.2S"}
_KNOWN = ("deadLetterSink", "retry", "backoffPolicy", "backoffDelay", "timeout",
          "retryAfterMax", "format")
FORMATS = ("json", "binary")


@dataclass(frozen=True, slots=True)
class DeliverySpec:
    raw: dict[str, Any]

    @classmethod
    def from_dict(cls, d: Any) -> DeliverySpec | None:
        return cls(d) if isinstance(d, dict) else None

    @property
    def dead_letter_sink(self) -> Destination | None:
        return Destination.from_dict(self.raw.get("deadLetterSink"))

    def is_set(self) -> bool:
        return any(self.raw.get(k) is not None for k in _KNOWN)

    def validate(self, parent_namespace: str | None = None) -> FieldError:
        d = self.raw
        errs = FieldError.none()
        dls = self.dead_letter_sink
        if d.get("deadLetterSink") is not None:
            if dls is None:
                errs = errs.also(FieldError.invalid(d["deadLetterSink"], "deadLetterSink",
                                                    "want a Destination"))
            else:
                errs = errs.also(dls.validate(parent_namespace).via_field("deadLetterSink"))
        retry = d.get("retry")
        if retry is not None and (not isinstance(retry, int) or isinstance(retry, bool)
                                  or retry < 0):
            errs = errs.also(FieldError.invalid(retry, "retry", "must be >= 0"))
        policy = d.get("backoffPolicy")
        if policy is not None and policy not in BACKOFF_POLICIES:
            errs = errs.also(FieldError.invalid(policy, "backoffPolicy",
                                                "want exponential or linear"))
        fmt = d.get("format")
        if fmt is not None and fmt not in FORMATS:
            errs = errs.also(FieldError.invalid(fmt, "format", "want json or binary"))
        for key in ("backoffDelay", "timeout", "retryAfterMax"):
            v = d.get(key)
            if v is None:
                continue
            try:
                secs = parse_iso8601_duration(v) if isinstance(v, str) else None
            except ValueError:
                secs = None
            if secs is None:
                errs = errs.also(FieldError.invalid(
                    v, key, "want an ISO-8601 duration such as PT0.2S"))
            elif key == "timeout" and secs <= 0:
                errs = errs.also(FieldError.invalid(v, key, "must be > 0"))
        return errs


DEAD_LETTER_SINK_RESOLVED = "DeadLetterSinkResolved"


class DeliveryStatus(Status):
    """status.deadLetterSinkUri and its DeadLetterSinkResolved condition, for the statuses
    (Broker, Trigger) whose condition set has that condition."""

    @property
    def dead_letter_sink_uri(self) -> str | None:
        return self.raw.get("deadLetterSinkUri")

    def mark_dead_letter_sink_resolved(self, uri: str) -> None:
        self.raw["deadLetterSinkUri"] = uri
        self.conditions.mark_true(DEAD_LETTER_SINK_RESOLVED)

    def mark_dead_letter_sink_not_configured(self) -> None:
        self.raw.pop("deadLetterSinkUri", None)
        self.conditions.mark_true(DEAD_LETTER_SINK_RESOLVED, "DeadLetterSinkNotConfigured",
                                  "No dead letter sink is configured.")

    def mark_dead_letter_sink_failed(self, reason: str, message: str) -> None:
        self.raw.pop("deadLetterSinkUri", None)
        self.conditions.mark_false(DEAD_LETTER_SINK_RESOLVED, reason, message)


ADDRESSABLE = "Addressable"


class AddressableStatus(DeliveryStatus):
    """Brokers and channels: status.address.url and the Addressable condition."""

    @property
    def address_url(self) -> str | None:
        return (self.raw.get("address") or {}).get("url")

    def set_address(self, url: str | None) -> None:
        if url:
            self.raw["address"] = {"url": url}
            self.conditions.mark_true(ADDRESSABLE)
        else:
            self.raw.pop("address", None)
            self.conditions.mark_false(ADDRESSABLE, "NoAddress", "no address yet")
