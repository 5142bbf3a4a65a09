"""Wire Serving's reconcilers onto the shared runtime (called from controller/main.py).

Informers: Services, Configurations, Revisions, Routes, PodAutoscalers, ServerlessServices,
Deployments, KIngresses, the Routes' placeholder Services, DomainMappings (all namespaces)
and ClusterDomainClaims; a DomainMapping's ref is tracked (any kind) and re-queues it. Each child
kind re-queues its controlling owner; a Configuration or Revision change re-queues the
Routes of its namespace (they may route to it). The config maps (config-deployment,
config-autoscaler, config-features, ...) come from the controller's one ConfigStore; a
change of the Revision's (deployment, autoscaler, features) re-queues every Revision, of
config-gc every Configuration, of config-network, config-domain or config-features every
Route. Serving is
optional: until the API server serves every Serving CRD (charts/knpy/crds/serving.yaml) it
stays off, so an Eventing-only install runs as before; DomainMapping joins when its two CRDs
are served at that moment (a release upgraded from before DomainMapping keeps its old CRDs:
Helm never upgrades crds/).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from knpy.apis.autoscaling.config import CONFIGMAP_NAME as AUTOSCALER_CONFIG
from knpy.apis.networking.config_network import NETWORK_CONFIG
from knpy.apis.serving.config_deployment import DEPLOYMENT_CONFIG
from knpy.apis.serving.config_domain import DOMAIN_CONFIG
from knpy.apis.serving.config_features import FEATURES_CONFIG
from knpy.apis.serving.config_gc import GC_CONFIG
from knpy.apis.serving.config_observability import OBSERVABILITY_CONFIG
from knpy.apis.serving.v1.register import ROUTE_LABEL
from knpy.controller.eventing.resolver import URIResolver
from knpy.controller.serving.configuration import ConfigurationReconciler
from knpy.controller.serving.deployment import Announce
from knpy.controller.serving.domainmapping import DomainMappingReconciler
from knpy.controller.serving.resources import (
    ALL_SERVING,
    CLUSTERDOMAINCLAIMS,
    CONFIGURATIONS,
    DEPLOYMENTS,
    DOMAIN_MAPPING_KINDS,
    DOMAINMAPPINGS,
    INGRESSES,
    KSERVICES,
    PODAUTOSCALERS,
    REVISIONS,
    ROUTES,
    SERVERLESSSERVICES,
)
from knpy.controller.serving.revision import RevisionReconciler
from knpy.controller.serving.route import RouteReconciler
from knpy.controller.serving.service import ServiceReconciler
from knpy.runtime.k8s import (
    SERVICES,
    Client,
    Controller,
    Discovery,
    Informer,
    Recorder,
    Tracker,
)
from knpy.runtime.k8s.ownerrefs import controlled_by_keys
from knpy.runtime.k8s.resources import Obj
from knpy.runtime.process import cancel_and_wait

__all__ = ["ServingControllers"]

log = logging.getLogger("knpy.controller.serving")

# the config maps the Revision reconciler reads (the rest are the webhook's and GC's)
# config-observability: the queue-proxy's tracing settings are in its env
REVISION_CONFIGS = frozenset({DEPLOYMENT_CONFIG, AUTOSCALER_CONFIG, FEATURES_CONFIG,
                              OBSERVABILITY_CONFIG})
ROUTE_CONFIGS = frozenset({NETWORK_CONFIG, DOMAIN_CONFIG, FEATURES_CONFIG})


class ServingControllers:
    def __init__(self, client: Client, discovery: Discovery, recorder: Recorder,
                 config: Callable[[str], Any], *, workers: int = 2,
                 watch_timeout: int = 300,
                 cluster_domain: Callable[[], str] = lambda: "cluster.local",
                 announce: Callable[[], Announce | None] = lambda: None) -> None:
        self.discovery = discovery
        wt = watch_timeout
        self.services = Informer(client, KSERVICES, watch_timeout=wt)
        self.configurations = Informer(client, CONFIGURATIONS, watch_timeout=wt)
        self.revisions = Informer(client, REVISIONS, watch_timeout=wt)
        self.routes = Informer(client, ROUTES, watch_timeout=wt)
        self.pas = Informer(client, PODAUTOSCALERS, watch_timeout=wt)
        self.skss = Informer(client, SERVERLESSSERVICES, watch_timeout=wt)
        self.deployments = Informer(client, DEPLOYMENTS, watch_timeout=wt)
        self.ingresses = Informer(client, INGRESSES, watch_timeout=wt)
        self.placeholders = Informer(client, SERVICES, label_selector=ROUTE_LABEL,
                                     watch_timeout=wt)
        self.domainmappings = Informer(client, DOMAINMAPPINGS, watch_timeout=wt)
        self.claims = Informer(client, CLUSTERDOMAINCLAIMS, watch_timeout=wt)
        self.informers = [self.services, self.configurations, self.revisions, self.routes,
                          self.pas, self.skss, self.deployments, self.ingresses,
                          self.placeholders]
        self.service = Controller(ServiceReconciler(
            client, self.services.lister, recorder, configurations=self.configurations.lister,
            routes=self.routes.lister, revisions=self.revisions.lister), workers=workers)
        self.configuration = Controller(ConfigurationReconciler(
            client, self.configurations.lister, recorder, revisions=self.revisions.lister,
            gc=lambda: config(GC_CONFIG)), workers=workers)
        self.revision = Controller(RevisionReconciler(
            client, self.revisions.lister, recorder, deployments=self.deployments.lister,
            podautoscalers=self.pas.lister, serverlessservices=self.skss.lister,
            config=lambda: (config(DEPLOYMENT_CONFIG), config(AUTOSCALER_CONFIG),
                            config(FEATURES_CONFIG), config(OBSERVABILITY_CONFIG)),
            announce=announce), workers=workers)
        self.route = Controller(RouteReconciler(
            client, self.routes.lister, recorder, configurations=self.configurations.lister,
            revisions=self.revisions.lister, ingresses=self.ingresses.lister,
            services=self.placeholders.lister,
            config=lambda: (config(NETWORK_CONFIG), config(DOMAIN_CONFIG), cluster_domain(),
                            config(FEATURES_CONFIG))),
            workers=workers)
        # a DomainMapping's ref: any Addressable, re-queued when it changes
        self.tracker = Tracker(client, discovery, lambda k: self.domainmapping.enqueue_key(k),
                               watch_timeout=wt)
        self.domainmapping = Controller(DomainMappingReconciler(
            client, self.domainmappings.lister, recorder, claims=self.claims.lister,
            ingresses=self.ingresses.lister,
            resolver=URIResolver(client, discovery, cluster_domain(), self.tracker),
            config=lambda: (config(NETWORK_CONFIG), cluster_domain())), workers=workers)
        self.pairs = [(self.service, self.services), (self.configuration, self.configurations),
                      (self.revision, self.revisions), (self.route, self.routes)]
        self.controllers = [c for c, _ in self.pairs]
        self.domainmappings_on = False
        self.enabled = False
        self._wire()

    def _wire(self) -> None:
        for c, inf in self.pairs:
            c.watch(inf)
        self.service.watch(self.configurations, controlled_by_keys(KSERVICES))
        self.service.watch(self.routes, controlled_by_keys(KSERVICES))
        self.configuration.watch(self.revisions, controlled_by_keys(CONFIGURATIONS))
        for child in (self.deployments, self.pas, self.skss):
            self.revision.watch(child, controlled_by_keys(REVISIONS))
        for child in (self.ingresses, self.placeholders):
            self.route.watch(child, controlled_by_keys(ROUTES))
        for target in (self.configurations, self.revisions):
            self.route.watch(target, self._routes_of_namespace)

    async def enable_domainmappings(self) -> bool:
        """DomainMapping joins (before run() starts the informers) only when its CRDs are
        served."""
        missing = [f"{r.plural}.{r.group}" for r in DOMAIN_MAPPING_KINDS
                   if not await self.discovery.serves(r.api_version, r.plural)]
        if missing:
            log.warning("DomainMapping off: the API server does not serve %s (apply "
                        "charts/knpy/crds/serving.yaml and restart the controller)",
                        ", ".join(missing))
            return False
        if not self.domainmappings_on:
            self._wire_domainmappings()
        return True

    def _wire_domainmappings(self) -> None:
        self.domainmappings_on = True
        self.informers += [self.domainmappings, self.claims]
        self.pairs.append((self.domainmapping, self.domainmappings))
        self.controllers.append(self.domainmapping)
        self.domainmapping.watch(self.domainmappings)
        self.domainmapping.watch(self.ingresses, controlled_by_keys(DOMAINMAPPINGS))
        # a claim made, freed or taken: every DomainMapping of that domain
        self.domainmapping.watch(self.claims, lambda o: [
            f"{d['metadata']['namespace']}/{d['metadata']['name']}"
            for d in self.domainmappings.lister.list() if d["metadata"]["name"] ==
            o["metadata"]["name"]])

    def _routes_of_namespace(self, o: Obj) -> list[str]:
        ns = o["metadata"].get("namespace")
        return [f"{ns}/{r['metadata']['name']}" for r in self.routes.lister.list(ns)]

    async def served(self, quiet: bool = False) -> bool:
        """Whether every Serving CRD is served."""
        missing = [f"{r.plural}.{r.group}" for r in ALL_SERVING
                   if not await self.discovery.serves(r.api_version, r.plural)]
        if missing and not quiet:
            log.warning("serving off until the API server serves %s (install "
                        "charts/knpy/crds/serving.yaml)", ", ".join(missing))
        return not missing

    async def run(self, recheck: float = 10.0) -> None:
        """Wait until the Serving CRDs are served (re-checking discovery, so CRDs installed
        later turn Serving on), then run the informers and the controllers."""
        quiet = False
        while not await self.served(quiet):
            quiet = True
            await asyncio.sleep(recheck)
            self.discovery.invalidate()
        await self.enable_domainmappings()
        tasks = [asyncio.create_task(i.run(), name=f"informer-{i.resource.plural}")
                 for i in self.informers]
        try:
            await asyncio.gather(*(i.wait_synced() for i in self.informers))
            self.enabled = True
            log.info("serving on: %d Service(s), %d Configuration(s), %d Revision(s)",
                     len(self.services.lister), len(self.configurations.lister),
                     len(self.revisions.lister))
            tasks += [asyncio.create_task(c.run(), name=f"controller-{c.name}")
                      for c in self.controllers]
            await asyncio.gather(*tasks)
        finally:
            self.enabled = False
            await cancel_and_wait(tasks)
            await self.tracker.close()

    def config_changed(self, name: str) -> None:
        if self.enabled and name in REVISION_CONFIGS:
            self.revision.enqueue_all(self.revisions.lister, slow=False)
        if self.enabled and name == GC_CONFIG:
            self.configuration.enqueue_all(self.configurations.lister, slow=False)
        if self.enabled and name in ROUTE_CONFIGS:
            self.route.enqueue_all(self.routes.lister, slow=False)
        if self.enabled and self.domainmappings_on and name == NETWORK_CONFIG:
            self.domainmapping.enqueue_all(self.domainmappings.lister, slow=False)

    def resync(self, slow: bool = True) -> None:
        """Re-queue every object (the periodic level-triggered catch-all)."""
        if not self.enabled:
            return
        for c, inf in self.pairs:
            c.enqueue_all(inf.lister, slow=slow)

    def promote(self) -> None:
        for c, inf in self.pairs:
            c.promote(inf.lister)

    def demote(self) -> None:
        for c in self.controllers:
            c.demote()
