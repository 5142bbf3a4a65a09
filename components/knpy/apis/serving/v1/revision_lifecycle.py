"""Revision status: Knative's conditions and reasons, and the propagation helpers the
Revision reconciler uses (Deployment -> ResourcesAvailable, PodAutoscaler -> Active and
replica counts).

Ready = ResourcesAvailable AND ContainerHealthy; Active is informational (a revision scaled
to zero is Ready but not Active), as in Knative's revision_lifecycle.go.
"""

from __future__ import annotations

from typing import Any

from knpy.apis.autoscaling.v1alpha1.podautoscaler_lifecycle import PodAutoscalerStatus
from knpy.apis.duck.conditions import FALSE, TRUE, UNKNOWN, ConditionManager, ConditionSet

__all__ = ["REVISION_CONDITIONS", "RevisionStatus"]

READY = "Ready"
RESOURCES_AVAILABLE = "ResourcesAvailable"
CONTAINER_HEALTHY = "ContainerHealthy"
ACTIVE = "Active"

# reasons (Knative's constants)
REASON_DEPLOYING = "Deploying"
REASON_NOT_OWNED = "NotOwned"
REASON_PROGRESS_DEADLINE_EXCEEDED = "ProgressDeadlineExceeded"
REASON_CONTAINER_MISSING = "ContainerMissing"
REASON_RESOLVING_DIGESTS = "ResolvingDigests"
REASON_UNSCHEDULABLE = "Unschedulable"
REASON_NO_TRAFFIC = "NoTraffic"

REVISION_CONDITIONS = ConditionSet(RESOURCES_AVAILABLE, CONTAINER_HEALTHY)


def exit_code_reason(code: int) -> str:
    """The ContainerHealthy reason for a user container that exited (`ExitCode1`)."""
    return f"ExitCode{code}"


class RevisionStatus:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    @property
    def conditions(self) -> ConditionManager:
        return REVISION_CONDITIONS.manage(self.raw)

    def is_ready(self) -> bool:
        return self.conditions.is_happy()

    def is_failed(self) -> bool:
        c = self.conditions.get(READY)
        return c is not None and c.get("status") == FALSE

    def is_active(self) -> bool:
        return self.conditions.is_true(ACTIVE)

    @property
    def actual_replicas(self) -> int | None:
        return self.raw.get("actualReplicas")

    @property
    def desired_replicas(self) -> int | None:
        return self.raw.get("desiredReplicas")

    # ------------------------------------------------------------------ conditions
    def mark_resources_available_true(self) -> None:
        self.conditions.mark_true(RESOURCES_AVAILABLE)

    def mark_resources_available_false(self, reason: str, message: str) -> None:
        self.conditions.mark_false(RESOURCES_AVAILABLE, reason, message)

    def mark_resources_available_unknown(self, reason: str, message: str = "") -> None:
        self.conditions.mark_unknown(RESOURCES_AVAILABLE, reason, message)

    def mark_container_healthy_true(self) -> None:
        self.conditions.mark_true(CONTAINER_HEALTHY)

    def mark_container_healthy_false(self, reason: str, message: str) -> None:
        self.conditions.mark_false(CONTAINER_HEALTHY, reason, message)

    def mark_container_healthy_unknown(self, reason: str, message: str = "") -> None:
        self.conditions.mark_unknown(CONTAINER_HEALTHY, reason, message)

    def mark_active_true(self) -> None:
        self.conditions.mark_true(ACTIVE)

    def mark_active_false(self, reason: str, message: str = "") -> None:
        self.conditions.mark_false(ACTIVE, reason, message)

    def mark_active_unknown(self, reason: str, message: str = "") -> None:
        self.conditions.mark_unknown(ACTIVE, reason, message)

    def mark_not_owned(self, kind: str, name: str) -> None:
        self.mark_resources_available_false(
            REASON_NOT_OWNED, f"There is an existing {kind} {name!r} that we do not own.")

    def mark_progress_deadline_exceeded(self, message: str) -> None:
        self.mark_resources_available_false(REASON_PROGRESS_DEADLINE_EXCEEDED, message)

    def mark_container_exiting(self, exit_code: int, message: str) -> None:
        self.mark_container_healthy_false(exit_code_reason(exit_code), message)

    # ----------------------------------------------------------------- propagation
    def propagate_deployment_status(self, deployment_status: dict[str, Any]) -> None:
        """ResourcesAvailable from the Deployment's Progressing / ReplicaFailure conditions
        (Knative's TransformDeploymentStatus): a failed replica set or an exceeded progress
        deadline is False, progressing is True, anything else Unknown (Deploying)."""
        conds = {c.get("type"): c for c in deployment_status.get("conditions") or []}
        failure = conds.get("ReplicaFailure")
        if failure is not None and failure.get("status") == TRUE:
            self.mark_resources_available_false(failure.get("reason", ""),
                                                failure.get("message", ""))
            return
        progressing = conds.get("Progressing")
        status = (progressing or {}).get("status", UNKNOWN)
        if status == TRUE:
            self.mark_resources_available_true()
        elif status == FALSE:
            p = progressing or {}
            self.mark_resources_available_false(p.get("reason", ""), p.get("message", ""))
        else:
            self.mark_resources_available_unknown(REASON_DEPLOYING)

    def propagate_autoscaler_status(self, pa_status: dict[str, Any]) -> None:
        """Replica counts and Active from the PodAutoscaler (Knative's
        PropagateAutoscalerStatus): an initialized scale target means the pods came up."""
        pa = PodAutoscalerStatus(pa_status)
        for ours, theirs in (("actualReplicas", "actualScale"),
                             ("desiredReplicas", "desiredScale")):
            v = pa_status.get(theirs)
            if isinstance(v, int) and v >= 0:
                self.raw[ours] = v
            else:
                self.raw.pop(ours, None)
        cond = pa.conditions.get(READY)
        if cond is None:
            self.mark_active_unknown(REASON_DEPLOYING)
            return
        ra = self.conditions.get(RESOURCES_AVAILABLE)
        unavailable = ra is not None and ra.get("status") == FALSE
        if pa.is_scale_target_initialized() and not unavailable:
            self.mark_resources_available_true()
            self.mark_container_healthy_true()
        if self.conditions.is_true(RESOURCES_AVAILABLE) and not pa.service_name:
            # initial scale 0: nothing to route to yet
            self.mark_resources_available_unknown(REASON_DEPLOYING)
        status = cond.get("status")
        if status == TRUE:
            self.mark_active_true()
        elif status == FALSE:
            # scaled to zero before ever reaching its initial scale: the revision failed
            if not pa.is_scale_target_initialized() and not unavailable and pa.service_name:
                self.mark_resources_available_false(REASON_PROGRESS_DEADLINE_EXCEEDED,
                                                    "Initial scale was never achieved")
            self.mark_active_false(cond.get("reason", ""), cond.get("message", ""))
        else:
            self.mark_active_unknown(cond.get("reason", ""), cond.get("message", ""))
