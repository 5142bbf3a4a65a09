"""ContainerSource: spec.template (a PodTemplateSpec), sink, ceOverrides. The controller
runs the template as a Deployment and binds it to the sink with a SinkBinding."""

from __future__ import annotations

from typing import Any

from knpy.apis.duck.conditions import ConditionManager
from knpy.apis.sources.v1.containersource_lifecycle import ContainerSourceStatus
from knpy.apis.sources.v1.source_duck import SourceView

__all__ = ["ContainerSource"]


class ContainerSource(SourceView):
    @property
    def template(self) -> dict[str, Any]:
        t = self.spec_raw.get("template")
        return t if isinstance(t, dict) else {}

    @property
    def status(self) -> ContainerSourceStatus:
        return ContainerSourceStatus(self.status_raw)

    @property
    def conditions(self) -> ConditionManager:
        return self.status.conditions
