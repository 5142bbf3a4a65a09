"""Service reconciler (Knative's reconciler/service): a Configuration and a Route of the
Service's name, owned by it and kept at its spec; status propagated from both."""

from __future__ import annotations

from knpy.apis.serving.v1 import Service
from knpy.apis.serving.v1.register import CONFIGURATION_LABEL
from knpy.controller.serving.resources import (
    CONFIGURATIONS,
    KSERVICES,
    ROUTES,
    SPEC_HASH_ANNOTATION,
)
from knpy.controller.serving.service_children import make_configuration, make_route
from knpy.runtime.k8s import Client, Lister, Reconciler, Recorder, is_controlled_by
from knpy.runtime.k8s.children import sync_child
from knpy.runtime.k8s.resources import Obj

__all__ = ["ServiceReconciler"]


def _reconciled(obj: Obj) -> bool:
    gen = obj["metadata"].get("generation")
    return gen is not None and (obj.get("status") or {}).get("observedGeneration") == gen


class ServiceReconciler(Reconciler[Service]):
    def __init__(self, client: Client, lister: Lister, recorder: Recorder, *,
                 configurations: Lister, routes: Lister, revisions: Lister) -> None:
        super().__init__(client, lister, KSERVICES, Service, recorder, name="service")
        self.configurations, self.routes, self.revisions = configurations, routes, revisions

    async def reconcile_kind(self, svc: Service) -> None:
        st = svc.status
        have = self.configurations.get(svc.namespace, svc.name)
        if have is not None and not is_controlled_by(have, svc.raw):
            st.mark_configuration_not_owned(svc.name)
            return
        cfg = await sync_child(self.client, CONFIGURATIONS, self.configurations, svc.raw,
                               make_configuration(svc), hash_annotation=SPEC_HASH_ANNOTATION,
                               own_labels=True, own_annotations=True)
        if _reconciled(cfg):
            st.propagate_configuration_status(cfg.get("status") or {})
        else:
            st.mark_configuration_not_reconciled()
        if self._revision_name_taken(svc, cfg):
            st.mark_revision_name_taken(svc.template.name)
            return
        have = self.routes.get(svc.namespace, svc.name)
        if have is not None and not is_controlled_by(have, svc.raw):
            st.mark_route_not_owned(svc.name)
            return
        route = await sync_child(self.client, ROUTES, self.routes, svc.raw, make_route(svc),
                                 hash_annotation=SPEC_HASH_ANNOTATION, own_labels=True,
                                 own_annotations=True)
        if _reconciled(route):
            st.propagate_route_status(route.get("status") or {})
            self._check_traffic_migrated(svc, cfg, route)
        else:
            st.mark_route_not_reconciled()

    def _revision_name_taken(self, svc: Service, cfg: Obj) -> bool:
        """A BYO revision name already used by another Configuration (Knative's
        CheckNameAvailability): routing to it could send traffic to someone else's code."""
        name = svc.template.name
        rev = self.revisions.get(svc.namespace, name) if name else None
        if rev is None:
            return False
        return (rev["metadata"].get("labels") or {}).get(CONFIGURATION_LABEL) != \
            cfg["metadata"]["name"]

    @staticmethod
    def _check_traffic_migrated(svc: Service, cfg: Obj, route: Obj) -> None:
        """Knative's checkRoutesNotReady, once the Route says it is Ready: every
        latestRevision target must already point at the latest ready revision."""
        if not svc.status.conditions.is_true("RoutesReady"):
            return  # the Route's own reason says why it waits
        rst = route.get("status") or {}
        spec_traffic = (route.get("spec") or {}).get("traffic") or []
        if len(rst.get("traffic") or []) != len(spec_traffic):
            svc.status.mark_route_not_yet_ready()
            return
        latest = (cfg.get("status") or {}).get("latestReadyRevisionName")
        for t in rst.get("traffic") or []:
            if t.get("latestRevision") and t.get("revisionName") != latest:
                svc.status.mark_route_not_yet_ready()
                return
