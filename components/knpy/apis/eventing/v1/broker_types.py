"""Broker: spec.config (KReference), spec.delivery; class in an annotation."""

from __future__ import annotations

from knpy.apis.duck.delivery import DeliverySpec
from knpy.apis.duck.destination import KReference
from knpy.apis.eventing.v1.broker_lifecycle import BrokerStatus
from knpy.apis.eventing.v1.meta import ObjectView
from knpy.apis.eventing.v1.register import BROKER_CLASS_ANNOTATION

__all__ = ["Broker"]


class Broker(ObjectView):
    @property
    def broker_class(self) -> str:
        return self.annotations.get(BROKER_CLASS_ANNOTATION, "")

    @property
    def config(self) -> KReference | None:
        return KReference.from_dict(self.spec_raw.get("config"))

    @property
    def delivery(self) -> DeliverySpec | None:
        return DeliverySpec.from_dict(self.spec_raw.get("delivery"))

    @property
    def status(self) -> BrokerStatus:
        return BrokerStatus(self.status_raw)

    def init_conditions(self) -> None:
        self.status.conditions.initialize()
