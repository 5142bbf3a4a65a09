"""SinkBinding reconciler: resolve the sink, then inject K_SINK / K_CE_OVERRIDES into every
subject (by name, or every object of the kind matching the selector, in the binding's
namespace), and undo it when the binding is deleted (a finalizer holds the deletion until
the env is removed). Level-triggered: subjects created later are bound when their informer
reports them; a subject edited to drop K_SINK gets it back."""

from __future__ import annotations

import copy
import logging

from knpy.apis.sources.v1 import SinkBinding
from knpy.apis.sources.v1.register import SINKBINDING_FINALIZER
from knpy.apis.sources.v1.sinkbinding_types import Subject, selector_matches
from knpy.controller.eventing.resolver import URIResolver
from knpy.controller.sources.binding import bind, bound_by, unbind
from knpy.controller.sources.ping import resolve_sink
from knpy.controller.sources.resources import SINKBINDINGS
from knpy.controller.sources.subjects import SubjectWatcher
from knpy.runtime.k8s import ApiError, Client, Lister, Reconciler, Recorder, Resource
from knpy.runtime.k8s.resources import Obj

__all__ = ["SinkBindingReconciler"]

log = logging.getLogger("knpy.controller.sources.sinkbinding")


class SinkBindingReconciler(Reconciler[SinkBinding]):
    def __init__(self, client: Client, lister: Lister, recorder: Recorder, *,
                 resolver: URIResolver, subjects: SubjectWatcher) -> None:
        super().__init__(client, lister, SINKBINDINGS, SinkBinding, recorder,
                         name="sinkbinding")
        self.resolver = resolver
        self.subjects = subjects

    async def on_deleted(self, key: str) -> None:
        if self.resolver.tracker is not None:
            self.resolver.tracker.forget(key)

    # ------------------------------------------------------------------ subjects
    async def _subjects(self, subj: Subject, name: str
                        ) -> tuple[Resource, list[Obj], list[Obj]]:
        """(resource, matching subjects, objects this binding bound that no longer match)."""
        res = await self.subjects.resource(subj.api_version, subj.kind)
        if res is None:
            raise LookupError(f"the API server does not serve {subj.kind} in "
                              f"{subj.api_version}")
        lister = (await self.subjects.informer(res)).lister
        sel = subj.selector or {}

        def matches(o: Obj) -> bool:
            if subj.name:
                return o["metadata"]["name"] == subj.name
            return selector_matches(sel, (o.get("metadata") or {}).get("labels") or {})
        objs = lister.list(subj.namespace)
        return (res, [o for o in objs if matches(o)],
                [o for o in objs if not matches(o) and bound_by(o) == name])

    async def _write(self, res: Resource, obj: Obj) -> None:
        try:
            await self.client.update(res, obj)
        except ApiError as exc:
            if not exc.not_found:
                raise  # a conflict retries the whole binding from fresh caches

    async def _unbind(self, res: Resource, o: Obj) -> None:
        fresh = copy.deepcopy(o)
        if unbind(fresh):
            await self._write(res, fresh)
            log.info("unbound %s %s/%s", res.kind, o["metadata"].get("namespace"),
                     o["metadata"]["name"])

    # ------------------------------------------------------------------ finalizer
    async def _set_finalizers(self, b: SinkBinding, finalizers: list[str]) -> None:
        md = b.metadata
        await self.client.patch(SINKBINDINGS, b.namespace, b.name, {"metadata": {
            "finalizers": finalizers, "resourceVersion": md.get("resourceVersion")}})

    async def reconcile_kind(self, b: SinkBinding) -> None:
        fins = list(b.metadata.get("finalizers") or [])
        if SINKBINDING_FINALIZER not in fins:
            await self._set_finalizers(b, [*fins, SINKBINDING_FINALIZER])
        st = b.status
        uri = await resolve_sink(self.resolver, b, st)
        subj = b.subject
        if subj is None:
            st.mark_binding_failed("SubjectMissing", "spec.subject is not set")
            return
        try:
            res, objs, stale = await self._subjects(subj, b.name)
        except (LookupError, TimeoutError) as exc:
            st.mark_binding_failed("SubjectKindNotServed", str(exc))
            return
        if uri is None:
            st.mark_binding_unknown("SinkNotResolved", "waiting for the sink to resolve")
            return
        overrides = b.ce_overrides_env()
        for o in stale:  # it stopped matching (labels or selector changed): undo
            await self._unbind(res, o)
        for o in objs:
            if o["metadata"].get("deletionTimestamp"):
                continue
            fresh = copy.deepcopy(o)
            if bind(fresh, uri, overrides, b.name):
                await self._write(res, fresh)
                log.info("bound %s %s/%s to %s", res.kind, subj.namespace,
                         o["metadata"]["name"], uri)
        st.mark_bound(len(objs))

    async def finalize_kind(self, b: SinkBinding) -> None:
        fins = list(b.metadata.get("finalizers") or [])
        if SINKBINDING_FINALIZER not in fins:
            return
        subj = b.subject
        if subj is not None:
            try:
                res, objs, stale = await self._subjects(subj, b.name)
            except (LookupError, TimeoutError):
                objs = stale = []
            for o in [*objs, *stale]:
                await self._unbind(res, o)
        try:
            await self._set_finalizers(b, [f for f in fins if f != SINKBINDING_FINALIZER])
        except ApiError as exc:
            if not exc.not_found:
                raise
