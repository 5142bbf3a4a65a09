"""ServerlessService: spec.mode (Serve|Proxy), objectRef (the Deployment), protocolType,
numActivators."""

from __future__ import annotations

from typing import Any

from knpy.apis.eventing.v1.meta import ObjectView
from knpy.apis.networking.v1alpha1.register import MODE_SERVE
from knpy.apis.networking.v1alpha1.serverlessservice_lifecycle import ServerlessServiceStatus

__all__ = ["ServerlessService"]


class ServerlessService(ObjectView):
    @property
    def mode(self) -> str:
        return self.spec_raw.get("mode") or MODE_SERVE

    @property
    def object_ref(self) -> dict[str, Any]:
        return self.spec_raw.get("objectRef") or {}

    @property
    def protocol_type(self) -> str:
        return self.spec_raw.get("protocolType") or "http1"

    @property
    def num_activators(self) -> int:
        return int(self.spec_raw.get("numActivators") or 0)

    @property
    def status(self) -> ServerlessServiceStatus:
        return ServerlessServiceStatus(self.status_raw)

    def init_conditions(self) -> None:
        self.status.conditions.initialize()
