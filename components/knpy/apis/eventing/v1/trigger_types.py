"""Trigger: spec.broker, filter.attributes, filters, subscriber (Destination), delivery."""

from __future__ import annotations

import json
from typing import Any

from knpy.apis.duck.delivery import DeliverySpec
from knpy.apis.duck.destination import Destination, KReference
from knpy.apis.eventing.v1.meta import ObjectView
from knpy.apis.eventing.v1.register import DEPENDENCY_ANNOTATION
from knpy.apis.eventing.v1.trigger_lifecycle import TriggerStatus

__all__ = ["Trigger"]


class Trigger(ObjectView):
    @property
    def broker(self) -> str:
        return str(self.spec_raw.get("broker") or "")

    @property
    def filter_attributes(self) -> dict[str, str] | None:
        f = self.spec_raw.get("filter")
        if isinstance(f, dict) and isinstance(f.get("attributes"), dict):
            return f["attributes"]
        return None

    @property
    def filters(self) -> list[dict[str, Any]] | None:
        fs = self.spec_raw.get("filters")
        return fs if isinstance(fs, list) else None

    @property
    def subscriber(self) -> Destination | None:
        return Destination.from_dict(self.spec_raw.get("subscriber"))

    @property
    def delivery(self) -> DeliverySpec | None:
        return DeliverySpec.from_dict(self.spec_raw.get("delivery"))

    @property
    def dependency(self) -> KReference | None:
        """The `knative.dev/dependency` annotation: a source this trigger waits for."""
        text = self.annotations.get(DEPENDENCY_ANNOTATION)
        if not text:
            return None
        try:
            d = json.loads(text)
        except ValueError:
            return None
        return KReference.from_dict(d) if isinstance(d, dict) else None

    @property
    def status(self) -> TriggerStatus:
        return TriggerStatus(self.status_raw)

    def init_conditions(self) -> None:
        self.status.conditions.initialize()
