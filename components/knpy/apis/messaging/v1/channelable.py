"""What Channel and InMemoryChannel share (Knative's Channelable duck): spec.delivery,
spec.subscribers written by Subscriptions, and status address/subscribers/DLS."""

from __future__ import annotations

from typing import Any

from knpy.apis.duck.delivery import AddressableStatus, DeliverySpec
from knpy.apis.eventing.v1.meta import ObjectView
from knpy.runtime.config import FieldError

__all__ = ["Channelable", "ChannelableStatus", "SubscriberSpec", "validate_channelable"]


class SubscriberSpec:
    """One entry of spec.subscribers: a Subscription's resolved URIs and delivery."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    @property
    def uid(self) -> str:
        return str(self.raw.get("uid") or "")

    @property
    def generation(self) -> int:
        g = self.raw.get("generation")
        return g if isinstance(g, int) and not isinstance(g, bool) else 0

    @property
    def subscriber_uri(self) -> str | None:
        return self.raw.get("subscriberUri") or None

    @property
    def reply_uri(self) -> str | None:
        return self.raw.get("replyUri") or None

    @property
    def delivery(self) -> DeliverySpec | None:
        return DeliverySpec.from_dict(self.raw.get("delivery"))

    def validate(self) -> FieldError:
        errs = FieldError.none()
        if not self.uid:
            errs = errs.also(FieldError.missing("uid"))
        if not self.subscriber_uri and not self.reply_uri:
            errs = errs.also(FieldError("expected at least one, got none", "replyUri",
                                        "subscriberUri"))
        if self.raw.get("delivery") is not None:
            d = self.delivery
            errs = errs.also(d.validate().via_field("delivery") if d is not None else
                             FieldError.invalid(self.raw["delivery"], "delivery",
                                                "want a DeliverySpec"))
        return errs


class ChannelableStatus(AddressableStatus):
    def set_subscribers(self, subscribers: list[dict[str, Any]]) -> None:
        """[{uid, observedGeneration, ready, message}] as Knative reports them."""
        if subscribers:
            self.raw["subscribers"] = subscribers
        else:
            self.raw.pop("subscribers", None)

    @property
    def subscribers(self) -> list[dict[str, Any]]:
        subs = self.raw.get("subscribers")
        return [s for s in subs if isinstance(s, dict)] if isinstance(subs, list) else []


class Channelable(ObjectView):
    @property
    def delivery(self) -> DeliverySpec | None:
        return DeliverySpec.from_dict(self.spec_raw.get("delivery"))

    @property
    def subscribers(self) -> list[SubscriberSpec]:
        subs = self.spec_raw.get("subscribers")
        return [SubscriberSpec(s) for s in subs if isinstance(s, dict)] \
            if isinstance(subs, list) else []


def validate_channelable(raw: dict[str, Any]) -> FieldError:
    """spec.delivery and spec.subscribers, with field paths under spec."""
    c = Channelable(raw)
    spec = raw.get("spec")
    if spec is not None and not isinstance(spec, dict):
        return FieldError.invalid(spec, "spec", "want an object")
    errs = FieldError.none()
    spec = spec or {}
    if spec.get("delivery") is not None:
        d = c.delivery
        errs = errs.also(d.validate(c.namespace).via_field("spec", "delivery") if d else
                         FieldError.invalid(spec["delivery"], "spec.delivery",
                                            "want a DeliverySpec"))
    subs = spec.get("subscribers")
    if subs is not None and not isinstance(subs, list):
        return errs.also(FieldError.invalid(subs, "spec.subscribers", "want a list"))
    seen: set[str] = set()
    for i, s in enumerate(subs or []):
        if not isinstance(s, dict):
            errs = errs.also(FieldError.invalid(s, f"spec.subscribers[{i}]", "want an object"))
            continue
        sub = SubscriberSpec(s)
        errs = errs.also(sub.validate().via_index(i).via_field("spec", "subscribers"))
        if sub.uid and sub.uid in seen:
            errs = errs.also(FieldError.invalid(sub.uid, f"spec.subscribers[{i}].uid",
                                                "duplicate uid"))
        seen.add(sub.uid)
    return errs
