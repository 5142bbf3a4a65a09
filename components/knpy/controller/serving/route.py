"""Route reconciler (Knative's reconciler/route): traffic resolved to Revisions, one KIngress
`<route>` the gateway programs, placeholder Services, and the Route's status.

Per Route: url and address from its hosts (route_resources.py); the traffic targets
resolved (route_traffic.py) -- one that does not resolve says why on AllTrafficAssigned and
nothing is programmed; the routed Revisions marked active (route_labeler.py); then the
KIngress (owned by the Route) is created or brought to the
desired spec, and IngressReady follows its Ready once the gateway has observed its current
generation (so Route Ready means "routes now"). The placeholder Services wait for the
gateway's private load balancer, which the KIngress status names.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable

from knpy.apis.networking.config_network import NetworkConfig
from knpy.apis.networking.v1alpha1 import Ingress
from knpy.apis.serving.config_domain import DomainConfig
from knpy.apis.serving.config_features import Features
from knpy.apis.serving.v1 import Route
from knpy.controller.serving.resources import INGRESSES, REVISIONS, ROUTES, SPEC_HASH_ANNOTATION
from knpy.controller.serving.route_labeler import routing_patches
from knpy.controller.serving.route_resources import (
    TAG_HEADER_ROUTING,
    hosts_of,
    make_ingress,
    make_placeholder,
    status_traffic,
)
from knpy.controller.serving.route_traffic import TrafficError, resolve_traffic
from knpy.runtime.k8s import (
    SERVICES,
    ApiError,
    Client,
    Lister,
    PermanentError,
    Reconciler,
    Recorder,
    is_controlled_by,
)
from knpy.runtime.k8s.children import sync_child
from knpy.runtime.k8s.resources import Obj

__all__ = ["RouteConfig", "RouteReconciler"]

# config-network, config-domain, the cluster domain, config-features
RouteConfig = tuple[NetworkConfig, DomainConfig, str, Features]


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class RouteReconciler(Reconciler[Route]):
    def __init__(self, client: Client, lister: Lister, recorder: Recorder, *,
                 configurations: Lister, revisions: Lister, ingresses: Lister,
                 services: Lister, config: Callable[[], RouteConfig],
                 clock: Callable[[], str] = _now) -> None:
        super().__init__(client, lister, ROUTES, Route, recorder, name="route")
        self.configurations, self.revisions = configurations, revisions
        self.ingresses, self.services = ingresses, services
        self.config = config
        self.clock = clock

    async def reconcile_kind(self, rt: Route) -> None:
        st = rt.status
        st.mark_tls_not_enabled()
        network, domains, cluster_domain, features = self.config()
        targets = resolve_traffic(rt, self.configurations, self.revisions)
        tags = [t.tag for t in targets if t.tag] if isinstance(targets, list) else []
        try:
            hosts = hosts_of(rt, tags, network, domains, cluster_domain)
        except ValueError as exc:
            st.mark_unknown_traffic_error(f"cannot name the Route's hosts: {exc}")
            raise PermanentError(str(exc)) from None
        st.set_url(hosts.url(), f"http://{hosts.local['']}")
        if isinstance(targets, TrafficError):
            st.raw.pop("traffic", None)
            targets.mark(st)
            return
        st.set_traffic(status_traffic(targets, hosts))
        st.mark_traffic_assigned()
        now = self.clock()
        for name, patch in routing_patches(rt.name, {t.revision for t in targets},
                                           self.revisions.list(rt.namespace), now):
            self.revisions.observe(await self.client.patch(REVISIONS, rt.namespace, name,
                                                           patch))
        try:
            ing = await sync_child(self.client, INGRESSES, self.ingresses, rt.raw,
                                   make_ingress(rt, hosts, targets, network, cluster_domain,
                                                features.enabled(TAG_HEADER_ROUTING)),
                                   hash_annotation=SPEC_HASH_ANNOTATION)
        except PermanentError:
            st.mark_ingress_not_owned(rt.name)
            raise
        ingress = Ingress(copy.deepcopy(ing))
        observed = (ing.get("status") or {}).get("observedGeneration")
        if observed is None or observed != ingress.generation:
            st.mark_ingress_not_configured()
        else:
            st.propagate_ingress_status(ing.get("status") or {})
        gateway = ingress.status.private_domain()
        if gateway:
            for name in hosts.names.values():
                await self._sync_placeholder(rt, make_placeholder(rt, name, gateway))

    async def _sync_placeholder(self, rt: Route, want: Obj) -> None:
        name = want["metadata"]["name"]
        have = self.services.get(rt.namespace, name)
        if have is None:
            try:
                await self.client.create(SERVICES, want)
                return
            except ApiError as exc:
                if not exc.already_exists:
                    raise
                have = await self.client.get(SERVICES, rt.namespace, name)
        if not is_controlled_by(have, rt.raw):
            raise PermanentError(f"Service {rt.namespace}/{name} exists and is not owned by "
                                 f"Route {rt.name}")
        spec, md = have.get("spec") or {}, have.get("metadata") or {}
        # the Route's labels and annotations are added, never taken away (as Knative's
        # placeholder reconcile: its conformance expects a label removed from the Service
        # to stay on the placeholder)
        labels = {**(md.get("labels") or {}), **want["metadata"]["labels"]}
        ann = {**(md.get("annotations") or {}), **want["metadata"]["annotations"]}
        if ((spec.get("type"), spec.get("externalName")) == ("ExternalName",
                                                             want["spec"]["externalName"])
                and (md.get("labels") or {}) == labels
                and (md.get("annotations") or {}) == ann):
            return
        fresh = copy.deepcopy(have)
        fresh["metadata"]["labels"], fresh["metadata"]["annotations"] = labels, ann
        fresh["spec"] = {**spec, **want["spec"]}
        fresh["spec"].pop("clusterIP", None)
        fresh["spec"].pop("clusterIPs", None)
        self.services.observe(await self.client.update(SERVICES, fresh))
