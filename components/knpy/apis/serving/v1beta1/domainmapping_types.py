"""DomainMapping: metadata.name is the domain; spec.ref (KReference: apiVersion, kind,
name, namespace) the Addressable it maps to; spec.tls (accepted, not served)."""

from __future__ import annotations

from typing import Any

from knpy.apis.eventing.v1.meta import ObjectView
from knpy.apis.serving.v1beta1.domainmapping_lifecycle import DomainMappingStatus

__all__ = ["DomainMapping"]


class DomainMapping(ObjectView):
    @property
    def ref(self) -> dict[str, Any]:
        r = self.spec_raw.get("ref")
        return r if isinstance(r, dict) else {}

    @property
    def generation(self) -> int:
        return int(self.metadata.get("generation") or 0)

    @property
    def status(self) -> DomainMappingStatus:
        return DomainMappingStatus(self.status_raw)

    def init_conditions(self) -> None:
        self.status.conditions.initialize()
