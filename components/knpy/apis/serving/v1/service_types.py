"""Service (ksvc): spec.template (revision template) + spec.traffic (route spec)."""

from __future__ import annotations

from typing import Any

from knpy.apis.eventing.v1.meta import ObjectView
from knpy.apis.serving.v1.register import VISIBILITY_CLUSTER_LOCAL, VISIBILITY_LABEL
from knpy.apis.serving.v1.revision_types import RevisionTemplate
from knpy.apis.serving.v1.service_lifecycle import ServiceStatus

__all__ = ["Service"]


class Service(ObjectView):
    @property
    def template(self) -> RevisionTemplate:
        t = self.spec_raw.get("template")
        return RevisionTemplate(t if isinstance(t, dict) else {})

    @property
    def traffic(self) -> list[dict[str, Any]]:
        t = self.spec_raw.get("traffic")
        return [x for x in t if isinstance(x, dict)] if isinstance(t, list) else []

    @property
    def cluster_local(self) -> bool:
        return self.labels.get(VISIBILITY_LABEL) == VISIBILITY_CLUSTER_LOCAL

    @property
    def status(self) -> ServiceStatus:
        return ServiceStatus(self.status_raw)

    def init_conditions(self) -> None:
        self.status.conditions.initialize()
