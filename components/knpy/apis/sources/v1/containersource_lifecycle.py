"""ContainerSource status: sinkUri (from its SinkBinding) and Knative's conditions
(SinkBindingReady, ReceiveAdapterReady)."""

from __future__ import annotations

from knpy.apis.duck.conditions import ConditionSet
from knpy.apis.sources.v1.pingsource_lifecycle import SinkStatus

__all__ = ["CONTAINERSOURCE_CONDITIONS", "ContainerSourceStatus"]

SINKBINDING_READY = "SinkBindingReady"
RECEIVE_ADAPTER_READY = "ReceiveAdapterReady"

CONTAINERSOURCE_CONDITIONS = ConditionSet(SINKBINDING_READY, RECEIVE_ADAPTER_READY)


class ContainerSourceStatus(SinkStatus):
    cset = CONTAINERSOURCE_CONDITIONS

    def propagate_binding(self, binding_status: dict) -> None:
        uri = binding_status.get("sinkUri")
        if uri:
            self.raw["sinkUri"] = uri
        else:
            self.raw.pop("sinkUri", None)
        ready = next((c for c in binding_status.get("conditions") or []
                      if c.get("type") == "Ready"), None)
        if ready and ready.get("status") == "True":
            self.conditions.mark_true(SINKBINDING_READY)
        elif ready and ready.get("status") == "False":
            self.conditions.mark_false(SINKBINDING_READY, ready.get("reason") or
                                       "SinkBindingNotReady", ready.get("message") or "")
        else:
            self.conditions.mark_unknown(SINKBINDING_READY, "SinkBindingNotReady",
                                         "the SinkBinding is not ready yet")

    def propagate_deployment(self, available: bool, message: str = "") -> None:
        if available:
            self.conditions.mark_true(RECEIVE_ADAPTER_READY)
        else:
            self.conditions.mark_unknown(RECEIVE_ADAPTER_READY, "DeploymentUnavailable",
                                         message or "the Deployment is not available yet")
