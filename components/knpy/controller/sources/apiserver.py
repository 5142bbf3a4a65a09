"""ApiServerSource reconciler: resolve the sink, check the service account may
get/list/watch every resource (SubjectAccessReview), run the adapter Deployment
(`python -m knpy.sources apiserver`, configured by env) and report its availability."""

from __future__ import annotations

from typing import cast

from knpy.apis.sources.v1 import ApiServerSource
from knpy.apis.sources.v1.sinkbinding_types import selector_to_query
from knpy.controller.eventing.resolver import URIResolver
from knpy.controller.sources.adapter import apiserver_deployment
from knpy.controller.sources.children import SPEC_HASH_ANNOTATION, deployment_available
from knpy.controller.sources.ping import resolve_sink
from knpy.controller.sources.resources import (
    APISERVERSOURCES,
    DEPLOYMENTS,
    NAMESPACES,
    SUBJECT_ACCESS_REVIEWS,
)
from knpy.controller.sources.subjects import SubjectWatcher
from knpy.runtime.k8s import ApiError, Client, Lister, Reconciler, Recorder, RequeueAfter
from knpy.runtime.k8s.children import sync_child

__all__ = ["ApiServerSourceReconciler"]

VERBS = ("get", "list", "watch")
# RBAC changes raise no event here: re-check a denied source this often
PERMISSION_RECHECK = 5.0


class ApiServerSourceReconciler(Reconciler[ApiServerSource]):
    def __init__(self, client: Client, lister: Lister, recorder: Recorder, *,
                 resolver: URIResolver, deployments: Lister, subjects: SubjectWatcher,
                 image: str) -> None:
        super().__init__(client, lister, APISERVERSOURCES, ApiServerSource, recorder,
                         name="apiserversource")
        self.resolver = resolver
        self.deployments = deployments
        self.subjects = subjects  # discovery of the watched kinds' plural names
        self.image = image

    async def on_deleted(self, key: str) -> None:
        if self.resolver.tracker is not None:
            self.resolver.tracker.forget(key)

    async def _namespaces(self, s: ApiServerSource) -> list[str] | None:
        """The namespaces the namespaceSelector matches (None: no selector; [] with an
        empty selector means all namespaces, checked cluster-wide)."""
        sel = s.namespace_selector
        if sel is None:
            return None
        if sel == {}:
            return []
        out = await self.client.list(NAMESPACES, label_selector=selector_to_query(sel))
        return sorted(n["metadata"]["name"] for n in out.get("items") or [])

    async def _denied(self, s: ApiServerSource, namespaces: list[str] | None) -> str | None:
        user = f"system:serviceaccount:{s.namespace}:{s.service_account_name}"
        scopes = [s.namespace] if namespaces is None else (namespaces or [""])
        for r in s.resources:
            res = await self.subjects.resource(r.api_version, r.kind)
            if res is None:
                return f"the API server does not serve {r.kind} in {r.api_version}"
            for ns, verb in ((ns, v) for ns in scopes for v in VERBS):
                review = {"apiVersion": "authorization.k8s.io/v1",
                          "kind": "SubjectAccessReview",
                          "spec": {"user": user, "resourceAttributes": {
                              "namespace": ns, "verb": verb, "group": res.group,
                              "version": res.version, "resource": res.plural}}}
                out = await self.client.create(SUBJECT_ACCESS_REVIEWS, review)
                if not (out.get("status") or {}).get("allowed"):
                    where = f" in {ns}" if ns else " cluster-wide"
                    return (f"{user} may not {verb} {res.plural}.{res.group or 'core'}"
                            f"{where}")
        return None

    async def reconcile_kind(self, s: ApiServerSource) -> None:
        st = s.status
        uri = await resolve_sink(self.resolver, s, st)
        # events' source is the API server's URL (as the adapter sees it: the same server)
        host = cast(str, self.client.api.configuration.host)
        st.set_ce_attributes([{"type": t, "source": host} for t in s.event_types()])
        try:
            namespaces = await self._namespaces(s)
            denied = await self._denied(s, namespaces)
        except ApiError as exc:
            denied = f"SubjectAccessReview failed: {exc}"
        if denied:
            st.mark_no_permissions("InsufficientPermissions", denied)
        else:
            st.mark_sufficient_permissions()
        if uri is None:
            st.mark_not_deployed("SinkNotResolved", "the adapter starts once the sink resolves")
            return
        dep = await sync_child(self.client, DEPLOYMENTS, self.deployments, s.raw,
                               apiserver_deployment(s, uri, self.image, namespaces),
                               hash_annotation=SPEC_HASH_ANNOTATION, sole=True)
        ok, msg = deployment_available(dep)
        if ok:
            st.mark_deployed()
        else:
            st.mark_not_deployed("DeploymentUnavailable", msg)
        if denied:
            raise RequeueAfter(PERMISSION_RECHECK)
