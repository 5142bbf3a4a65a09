"""ContainerSource reconciler: run spec.template as a Deployment and bind it to the sink
with a SinkBinding (which injects K_SINK); status mirrors both."""

from __future__ import annotations

from knpy.apis.sources.v1 import ContainerSource
from knpy.controller.sources.adapter import container_deployment, container_sinkbinding
from knpy.controller.sources.children import SPEC_HASH_ANNOTATION, deployment_available
from knpy.controller.sources.resources import CONTAINERSOURCES, DEPLOYMENTS, SINKBINDINGS
from knpy.runtime.k8s import Client, Lister, Reconciler, Recorder
from knpy.runtime.k8s.children import sync_child

__all__ = ["ContainerSourceReconciler"]


class ContainerSourceReconciler(Reconciler[ContainerSource]):
    def __init__(self, client: Client, lister: Lister, recorder: Recorder, *,
                 deployments: Lister, sinkbindings: Lister) -> None:
        super().__init__(client, lister, CONTAINERSOURCES, ContainerSource, recorder,
                         name="containersource")
        self.deployments = deployments
        self.sinkbindings = sinkbindings

    async def reconcile_kind(self, s: ContainerSource) -> None:
        want = container_deployment(s)
        dep = await sync_child(self.client, DEPLOYMENTS, self.deployments, s.raw, want,
                               hash_annotation=SPEC_HASH_ANNOTATION, sole=True)
        sb = await sync_child(self.client, SINKBINDINGS, self.sinkbindings, s.raw,
                              container_sinkbinding(s, want["metadata"]["name"]),
                              hash_annotation=SPEC_HASH_ANNOTATION, sole=True)
        st = s.status
        st.set_ce_attributes([])
        st.propagate_binding(sb.get("status") or {})
        ok, msg = deployment_available(dep)
        st.propagate_deployment(ok, msg)
