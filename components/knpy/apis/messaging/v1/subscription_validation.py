"""Subscription validation with field paths (Knative's rules): spec.channel is a complete
reference in the same namespace; at least one of subscriber and reply; every Destination
and the delivery spec valid; spec.channel is immutable."""

from __future__ import annotations

from typing import Any

from knpy.apis.duck.spec import required_spec
from knpy.apis.messaging.v1.subscription_types import Subscription
from knpy.runtime.config import FieldError

__all__ = ["validate_subscription", "validate_subscription_update"]


def validate_subscription(raw: dict[str, Any]) -> FieldError:
    spec, bad = required_spec(raw)
    if bad:
        return bad
    s = Subscription(raw)
    ns = s.namespace
    errs = FieldError.none()
    ch = s.channel
    if ch is None:
        errs = errs.also(FieldError.missing("spec.channel"))
    else:
        errs = errs.also(ch.validate(ns).via_field("spec", "channel"))
    present = [k for k in ("subscriber", "reply") if spec.get(k)]
    if not present:
        errs = errs.also(FieldError("expected at least one, got none", "spec.reply",
                                    "spec.subscriber",
                                    details="the Subscription must reference at least one "
                                            "of (reply or a subscriber)"))
    for k in present:
        dest = s.subscriber if k == "subscriber" else s.reply
        errs = errs.also(dest.validate(ns).via_field("spec", k) if dest is not None else
                         FieldError.invalid(spec[k], f"spec.{k}", "want a Destination"))
    if spec.get("delivery") is not None:
        d = s.delivery
        errs = errs.also(d.validate(ns).via_field("spec", "delivery") if d is not None else
                         FieldError.invalid(spec["delivery"], "spec.delivery",
                                            "want a DeliverySpec"))
    return errs


def validate_subscription_update(old: dict[str, Any], new: dict[str, Any]) -> FieldError:
    errs = validate_subscription(new)
    o, n = (old.get("spec") or {}).get("channel"), (new.get("spec") or {}).get("channel")
    if o != n:
        errs = errs.also(FieldError.immutable("spec.channel", o, n))
    return errs
