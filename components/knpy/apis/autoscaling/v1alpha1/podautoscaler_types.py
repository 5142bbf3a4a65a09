"""PodAutoscaler: spec.scaleTargetRef (the Deployment), containerConcurrency,
reachability, protocolType; class and metric in autoscaling.knative.dev annotations."""

from __future__ import annotations

from typing import Any

from knpy.apis.autoscaling.annotations import CLASS, CONCURRENCY, KPA_CLASS, PREFIX
from knpy.apis.autoscaling.v1alpha1.podautoscaler_lifecycle import PodAutoscalerStatus
from knpy.apis.eventing.v1.meta import ObjectView

__all__ = ["PodAutoscaler"]


class PodAutoscaler(ObjectView):
    @property
    def autoscaler_class(self) -> str:
        return self.annotations.get(CLASS, KPA_CLASS)

    @property
    def metric(self) -> str:
        return self.annotations.get(PREFIX + "metric", CONCURRENCY)

    @property
    def scale_target_ref(self) -> dict[str, Any]:
        return self.spec_raw.get("scaleTargetRef") or {}

    @property
    def container_concurrency(self) -> int:
        return int(self.spec_raw.get("containerConcurrency") or 0)

    @property
    def reachability(self) -> str:
        return self.spec_raw.get("reachability") or ""

    @property
    def protocol_type(self) -> str:
        return self.spec_raw.get("protocolType") or "http1"

    @property
    def status(self) -> PodAutoscalerStatus:
        return PodAutoscalerStatus(self.status_raw)

    def init_conditions(self) -> None:
        self.status.conditions.initialize()
