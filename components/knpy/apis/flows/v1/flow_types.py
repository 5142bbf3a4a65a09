"""Sequence (spec.steps: Destinations with an optional delivery, in order) and Parallel
(spec.branches: {filter, subscriber, reply, delivery}), both with spec.channelTemplate and
spec.reply (Knative's flows.knative.dev/v1)."""

from __future__ import annotations

from typing import Any

from knpy.apis.duck.delivery import DeliverySpec
from knpy.apis.duck.destination import Destination
from knpy.apis.eventing.v1.meta import ObjectView
from knpy.apis.flows.v1.flow_lifecycle import ParallelStatus, SequenceStatus

__all__ = ["Branch", "Parallel", "Sequence", "Step"]


def _items(spec: dict[str, Any], key: str) -> list[dict[str, Any]]:
    v = spec.get(key)
    return [x if isinstance(x, dict) else {} for x in v] if isinstance(v, list) else []


class Step:
    """A Sequence step: a Destination (ref, uri) inline, plus delivery."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    @property
    def destination(self) -> Destination | None:
        d = {k: v for k, v in self.raw.items() if k != "delivery"}
        return Destination.from_dict(d) if d else None

    @property
    def delivery(self) -> DeliverySpec | None:
        return DeliverySpec.from_dict(self.raw.get("delivery"))


class Branch:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    def destination(self, key: str) -> Destination | None:
        """filter, subscriber or reply."""
        return Destination.from_dict(self.raw.get(key))

    @property
    def delivery(self) -> DeliverySpec | None:
        return DeliverySpec.from_dict(self.raw.get("delivery"))


class _Flow(ObjectView):
    @property
    def channel_template(self) -> dict[str, Any] | None:
        t = self.spec_raw.get("channelTemplate")
        return t if isinstance(t, dict) else None

    @property
    def reply(self) -> Destination | None:
        return Destination.from_dict(self.spec_raw.get("reply"))


class Sequence(_Flow):
    @property
    def steps(self) -> list[Step]:
        return [Step(s) for s in _items(self.spec_raw, "steps")]

    @property
    def status(self) -> SequenceStatus:
        return SequenceStatus(self.status_raw)

    def init_conditions(self) -> None:
        self.status.conditions.initialize()


class Parallel(_Flow):
    @property
    def branches(self) -> list[Branch]:
        return [Branch(b) for b in _items(self.spec_raw, "branches")]

    @property
    def status(self) -> ParallelStatus:
        return ParallelStatus(self.status_raw)

    def init_conditions(self) -> None:
        self.status.conditions.initialize()
