"""Configuration: spec.template (a revision template); status latestCreated/latestReady."""

from __future__ import annotations

from knpy.apis.eventing.v1.meta import ObjectView
from knpy.apis.serving.v1.configuration_lifecycle import ConfigurationStatus
from knpy.apis.serving.v1.register import SERVICE_LABEL
from knpy.apis.serving.v1.revision_types import RevisionTemplate

__all__ = ["Configuration"]


class Configuration(ObjectView):
    @property
    def template(self) -> RevisionTemplate:
        t = self.spec_raw.get("template")
        return RevisionTemplate(t if isinstance(t, dict) else {})

    @property
    def service_name(self) -> str:
        return self.labels.get(SERVICE_LABEL, "")

    @property
    def generation(self) -> int:
        return int(self.metadata.get("generation") or 0)

    @property
    def status(self) -> ConfigurationStatus:
        return ConfigurationStatus(self.status_raw)

    def init_conditions(self) -> None:
        self.status.conditions.initialize()
