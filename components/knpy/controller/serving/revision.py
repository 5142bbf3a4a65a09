"""Revision reconciler (Knative's reconciler/revision): the Deployment `<rev>-deployment`,
the ServerlessService and the PodAutoscaler `<rev>`; status from the Deployment (Progressing
/ ReplicaFailure -> ResourcesAvailable, ready replicas -> ContainerHealthy; while no
replica is available, one pod's exit code, waiting reason or scheduling failure) and from
the PodAutoscaler (replica counts, Active, serviceName).

Not done (Knative does it): resolving image tags to digests into status.containerStatuses.
"""

from __future__ import annotations

from collections.abc import Callable

from knpy.apis.autoscaling.config import AutoscalerConfig
from knpy.apis.serving.config_deployment import DeploymentConfig
from knpy.apis.serving.config_features import Features
from knpy.apis.serving.config_observability import ObservabilityConfig
from knpy.apis.serving.v1 import Revision
from knpy.apis.serving.v1.revision_lifecycle import RESOURCES_AVAILABLE
from knpy.controller.serving.deployment import QUEUE_CONTAINER, Announce, make_deployment
from knpy.controller.serving.resources import (
    DEPLOYMENTS,
    PODAUTOSCALERS,
    PODS,
    REVISIONS,
    SERVERLESSSERVICES,
    SPEC_HASH_ANNOTATION,
)
from knpy.controller.serving.revision_children import make_podautoscaler, make_sks
from knpy.runtime.k8s import (
    NORMAL,
    ApiError,
    Client,
    Lister,
    Reconciler,
    Recorder,
    Resource,
    is_controlled_by,
)
from knpy.runtime.k8s.children import sync_child
from knpy.runtime.k8s.resources import Obj

__all__ = ["RevisionConfig", "RevisionReconciler"]

RevisionConfig = Callable[[], tuple[DeploymentConfig, AutoscalerConfig, Features,
                                    ObservabilityConfig]]


class _NotOwned(Exception):
    def __init__(self, kind: str, name: str) -> None:
        super().__init__(kind, name)
        self.kind, self.name = kind, name


class RevisionReconciler(Reconciler[Revision]):
    def __init__(self, client: Client, lister: Lister, recorder: Recorder, *,
                 deployments: Lister, podautoscalers: Lister, serverlessservices: Lister,
                 config: RevisionConfig,
                 announce: Callable[[], Announce | None] = lambda: None) -> None:
        super().__init__(client, lister, REVISIONS, Revision, recorder, name="revision")
        self.deployments, self.pas, self.skss = deployments, podautoscalers, serverlessservices
        self.config = config
        self.announce = announce  # None: the pods do not announce themselves

    async def reconcile_kind(self, rev: Revision) -> None:
        was_ready = rev.status.is_ready()
        try:
            await self._reconcile(rev)
        except _NotOwned as e:
            rev.status.mark_not_owned(e.kind, e.name)
            return
        if not was_ready and rev.status.is_ready():
            await self.recorder.event(rev.raw, NORMAL, "RevisionReady",
                                      "Revision becomes ready upon all resources being ready")

    async def _reconcile(self, rev: Revision) -> None:
        dcfg, acfg, features, observability = self.config()
        st = rev.status
        if not dcfg.queue_sidecar_image:
            st.mark_resources_available_false(
                "QueueSidecarImageMissing",
                "config-deployment has no queue-sidecar-image: the queue-proxy cannot run")
            return
        want = make_deployment(rev, dcfg, acfg, features, observability, self.announce())
        have = self._owned(DEPLOYMENTS, self.deployments, rev, want)
        if have is not None:  # the autoscaler owns the replica count once it exists
            want["spec"]["replicas"] = (have.get("spec") or {}).get("replicas")
        dep = await sync_child(self.client, DEPLOYMENTS, self.deployments, rev.raw, want,
                               hash_annotation=SPEC_HASH_ANNOTATION, sole=True)
        dst = dep.get("status") or {}
        st.propagate_deployment_status(dst)
        if ((dep.get("spec") or {}).get("replicas") or 0) > 0 and \
                not dst.get("availableReplicas"):
            await self._inspect_pod(rev, dep)
        if (dst.get("readyReplicas") or 0) > 0:
            st.mark_container_healthy_true()

        sks = make_sks(rev, acfg)
        if self._owned(SERVERLESSSERVICES, self.skss, rev, sks) is None:
            await self._create(SERVERLESSSERVICES, sks)

        ra = st.conditions.get(RESOURCES_AVAILABLE) or {}
        pa_want = make_podautoscaler(rev, deployment_failed=ra.get("status") == "False")
        self._owned(PODAUTOSCALERS, self.pas, rev, pa_want)
        pa = await sync_child(self.client, PODAUTOSCALERS, self.pas, rev.raw, pa_want,
                              hash_annotation=SPEC_HASH_ANNOTATION, own_annotations=True)
        pst = pa.get("status") or {}
        st.propagate_autoscaler_status(pst)

    async def _inspect_pod(self, rev: Revision, dep: Obj) -> None:
        """Replicas wanted, none available: why, from one pod (they all fail alike), as
        Knative's reconcileDeployment does: unschedulable -> ResourcesAvailable False; a
        user container that terminated -> ContainerHealthy False `ExitCode<n>`; one stuck
        waiting (e.g. ImagePullBackOff) once the progress deadline passed ->
        ResourcesAvailable False with its reason."""
        match = ((dep.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        selector = ",".join(f"{k}={v}" for k, v in sorted(match.items()))
        pods = (await self.client.list(PODS, rev.namespace, label_selector=selector,
                                       limit=1)).get("items") or []
        if not pods:
            return
        st = rev.status
        pst = pods[0].get("status") or {}
        for c in pst.get("conditions") or []:
            if c.get("type") == "PodScheduled" and c.get("status") == "False":
                st.mark_resources_available_false(c.get("reason", ""), c.get("message", ""))
                break
        timed_out = any(c.get("type") == "Progressing" and c.get("status") == "False"
                        and c.get("reason") == "ProgressDeadlineExceeded"
                        for c in (dep.get("status") or {}).get("conditions") or [])
        for cs in pst.get("containerStatuses") or []:
            if cs.get("name") == QUEUE_CONTAINER:
                continue
            term = (cs.get("lastState") or {}).get("terminated")
            waiting = (cs.get("state") or {}).get("waiting")
            if term:
                st.mark_container_exiting(int(term.get("exitCode") or 0),
                                          term.get("message", ""))
                break
            if waiting and timed_out:
                st.mark_resources_available_false(waiting.get("reason", ""),
                                                  waiting.get("message", ""))
                break

    @staticmethod
    def _owned(res: Resource, lister: Lister, rev: Revision, want: Obj) -> Obj | None:
        have = lister.get(rev.namespace, want["metadata"]["name"])
        if have is not None and not is_controlled_by(have, rev.raw):
            raise _NotOwned(res.kind, want["metadata"]["name"])
        return have

    async def _create(self, res: Resource, obj: Obj) -> Obj:
        try:
            return await self.client.create(res, obj)
        except ApiError as exc:
            if not exc.already_exists:
                raise
            return await self.client.get(res, obj["metadata"]["namespace"],
                                         obj["metadata"]["name"])

