"""PingSource reconciler: resolve the sink into status.sinkUri, publish ceAttributes, and
report Deployed from the shared (multi-tenant) ping adapter Deployment in the system
namespace. The adapter itself reads PingSources from the API (knpy.sources ping)."""

from __future__ import annotations

from knpy.apis.sources.v1 import PingSource
from knpy.controller.eventing.resolver import ResolveError, URIResolver
from knpy.controller.sources.children import deployment_available
from knpy.controller.sources.resources import PINGSOURCES
from knpy.runtime.k8s import Client, Lister, Reconciler, Recorder

__all__ = ["PING_ADAPTER", "PingSourceReconciler"]

PING_ADAPTER = "knpy-pingsource-adapter"


class PingSourceReconciler(Reconciler[PingSource]):
    def __init__(self, client: Client, lister: Lister, recorder: Recorder, *,
                 resolver: URIResolver, deployments: Lister, system_namespace: str,
                 adapter_name: str = PING_ADAPTER) -> None:
        super().__init__(client, lister, PINGSOURCES, PingSource, recorder, name="pingsource")
        self.resolver = resolver
        self.deployments = deployments
        self.system_namespace = system_namespace
        self.adapter_name = adapter_name

    async def on_deleted(self, key: str) -> None:
        if self.resolver.tracker is not None:
            self.resolver.tracker.forget(key)

    async def reconcile_kind(self, s: PingSource) -> None:
        st = s.status
        await resolve_sink(self.resolver, s, st)
        st.set_ce_attributes(s.ce_attributes())
        ok, msg = deployment_available(self.deployments.get(self.system_namespace,
                                                            self.adapter_name))
        if ok:
            st.mark_deployed()
        else:
            st.mark_not_deployed("AdapterUnavailable",
                                 f"ping adapter {self.system_namespace}/{self.adapter_name}: "
                                 f"{msg}")


async def resolve_sink(resolver: URIResolver, s, st) -> str | None:
    """spec.sink -> status.sinkUri + SinkProvided (shared by every sink-carrying source)."""
    sink = s.sink
    if sink is None:
        st.mark_no_sink("NotFound", "spec.sink is not set")
        return None
    try:
        uri = await resolver.uri(sink, s.namespace, s.key)
    except ResolveError as exc:
        st.mark_no_sink("NotFound", f"Sink not found: {exc.message}")
        return None
    st.mark_sink(uri)
    return uri
