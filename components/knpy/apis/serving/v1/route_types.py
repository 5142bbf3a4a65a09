"""Route: spec.traffic[] (TrafficTarget: tag, revisionName | configurationName,
latestRevision, percent); status.url, address, traffic[]."""

from __future__ import annotations

from typing import Any

from knpy.apis.eventing.v1.meta import ObjectView
from knpy.apis.serving.v1.register import VISIBILITY_CLUSTER_LOCAL, VISIBILITY_LABEL
from knpy.apis.serving.v1.route_lifecycle import RouteStatus

__all__ = ["Route"]


class Route(ObjectView):
    @property
    def traffic(self) -> list[dict[str, Any]]:
        t = self.spec_raw.get("traffic")
        return [x for x in t if isinstance(x, dict)] if isinstance(t, list) else []

    @property
    def cluster_local(self) -> bool:
        return self.labels.get(VISIBILITY_LABEL) == VISIBILITY_CLUSTER_LOCAL

    @property
    def status(self) -> RouteStatus:
        return RouteStatus(self.status_raw)

    def init_conditions(self) -> None:
        self.status.conditions.initialize()
