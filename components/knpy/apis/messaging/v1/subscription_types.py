"""Subscription: spec.channel (KReference), subscriber, reply (Destinations), delivery."""

from __future__ import annotations

from knpy.apis.duck.delivery import DeliverySpec
from knpy.apis.duck.destination import Destination, KReference
from knpy.apis.eventing.v1.meta import ObjectView
from knpy.apis.messaging.v1.subscription_lifecycle import SubscriptionStatus

__all__ = ["Subscription"]


class Subscription(ObjectView):
    @property
    def uid(self) -> str:
        return str(self.metadata.get("uid") or "")

    @property
    def generation(self) -> int:
        g = self.metadata.get("generation")
        return g if isinstance(g, int) and not isinstance(g, bool) else 0

    @property
    def channel(self) -> KReference | None:
        return KReference.from_dict(self.spec_raw.get("channel"))

    @property
    def subscriber(self) -> Destination | None:
        return Destination.from_dict(self.spec_raw.get("subscriber"))

    @property
    def reply(self) -> Destination | None:
        return Destination.from_dict(self.spec_raw.get("reply"))

    @property
    def delivery(self) -> DeliverySpec | None:
        return DeliverySpec.from_dict(self.spec_raw.get("delivery"))

    @property
    def status(self) -> SubscriptionStatus:
        return SubscriptionStatus(self.status_raw)

    def init_conditions(self) -> None:
        self.status.conditions.initialize()
