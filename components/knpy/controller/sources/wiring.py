"""Wire the source reconcilers onto the shared runtime (called from controller/main.py).

Informers: the four source kinds and Deployments (all namespaces: the ping adapter in the
system namespace, the adapters sources create, SinkBinding subjects). Each reconciler
tracks the sink objects it references in its own Tracker. Sources are optional: when the
API server does not serve sources.knative.dev (CRDs not installed) they stay off.
"""

from __future__ import annotations

import asyncio
import logging
import os

from knpy.apis.sources.v1.register import API_VERSION
from knpy.controller.eventing.resolver import URIResolver
from knpy.controller.sources.apiserver import ApiServerSourceReconciler
from knpy.controller.sources.container import ContainerSourceReconciler
from knpy.controller.sources.ping import PING_ADAPTER, PingSourceReconciler
from knpy.controller.sources.resources import (
    ALL_SOURCES,
    APISERVERSOURCES,
    CONTAINERSOURCES,
    DEPLOYMENTS,
    NAMESPACES,
    PINGSOURCES,
    SINKBINDINGS,
)
from knpy.controller.sources.sinkbinding import SinkBindingReconciler
from knpy.controller.sources.subjects import SubjectWatcher
from knpy.runtime.k8s import Client, Controller, Discovery, Informer, Recorder, Resource, Tracker
from knpy.runtime.k8s.ownerrefs import controlled_by_keys
from knpy.runtime.k8s.resources import Obj
from knpy.runtime.process import cancel_and_wait

__all__ = ["SourcesControllers"]

log = logging.getLogger("knpy.controller.sources")

DEFAULT_IMAGE = "dev.local/knpy/sources:dev"


class SourcesControllers:
    def __init__(self, client: Client, discovery: Discovery, recorder: Recorder, *,
                 system_namespace: str, cluster_domain: str, workers: int = 2,
                 watch_timeout: int = 300, image: str | None = None,
                 ping_adapter: str = PING_ADAPTER) -> None:
        self.discovery = discovery
        wt = watch_timeout
        self.image = image or os.environ.get("KNPY_SOURCES_IMAGE", DEFAULT_IMAGE)
        ping_adapter = os.environ.get("KNPY_PING_ADAPTER", ping_adapter)
        self.pings = Informer(client, PINGSOURCES, watch_timeout=wt)
        self.bindings = Informer(client, SINKBINDINGS, watch_timeout=wt)
        self.apiservers = Informer(client, APISERVERSOURCES, watch_timeout=wt)
        self.containers = Informer(client, CONTAINERSOURCES, watch_timeout=wt)
        self.deployments = Informer(client, DEPLOYMENTS, watch_timeout=wt)
        # namespace label changes re-resolve ApiServerSources' namespaceSelectors
        self.namespaces = Informer(client, NAMESPACES, watch_timeout=wt)
        self.informers = [self.pings, self.bindings, self.apiservers, self.containers,
                          self.deployments, self.namespaces]
        self.trackers: list[Tracker] = []
        self.resolvers: list[URIResolver] = []

        def resolver(enqueue_key) -> URIResolver:
            t = Tracker(client, discovery, enqueue_key, watch_timeout=wt)
            self.trackers.append(t)
            self.resolvers.append(URIResolver(client, discovery, cluster_domain, t))
            return self.resolvers[-1]

        self.subjects = SubjectWatcher(client, discovery, self._subject_changed,
                                       shared={DEPLOYMENTS: self.deployments},
                                       watch_timeout=wt)
        self.ping: Controller = Controller(PingSourceReconciler(
            client, self.pings.lister, recorder,
            resolver=resolver(lambda k: self.ping.enqueue_key(k)),
            deployments=self.deployments.lister, system_namespace=system_namespace,
            adapter_name=ping_adapter), workers=workers)
        self.binding: Controller = Controller(SinkBindingReconciler(
            client, self.bindings.lister, recorder,
            resolver=resolver(lambda k: self.binding.enqueue_key(k)),
            subjects=self.subjects), workers=workers)
        self.apiserver: Controller = Controller(ApiServerSourceReconciler(
            client, self.apiservers.lister, recorder,
            resolver=resolver(lambda k: self.apiserver.enqueue_key(k)),
            deployments=self.deployments.lister, subjects=self.subjects, image=self.image),
            workers=workers)
        self.container = Controller(ContainerSourceReconciler(
            client, self.containers.lister, recorder, deployments=self.deployments.lister,
            sinkbindings=self.bindings.lister), workers=workers)
        self.controllers = [self.ping, self.binding, self.apiserver, self.container]
        self.enabled = False
        self._wire(system_namespace, ping_adapter)

    def _wire(self, system_namespace: str, ping_adapter: str) -> None:
        self.ping.watch(self.pings)
        self.binding.watch(self.bindings)
        self.apiserver.watch(self.apiservers)
        self.container.watch(self.containers)
        # a ContainerSource follows its SinkBinding's status
        self.container.watch(self.bindings, controlled_by_keys(CONTAINERSOURCES))

        def on_deployment(o: Obj) -> None:
            md = o.get("metadata") or {}
            if md.get("namespace") == system_namespace and md.get("name") == ping_adapter:
                self.ping.enqueue_all(self.pings.lister, slow=False)
        self.deployments.on_change(on_deployment)
        self.apiserver.watch(self.deployments, controlled_by_keys(APISERVERSOURCES))
        self.container.watch(self.deployments, controlled_by_keys(CONTAINERSOURCES))
        self.apiserver.watch(self.namespaces, lambda _ns: [
            f"{o['metadata']['namespace']}/{o['metadata']['name']}"
            for o in self.apiservers.lister.list()
            if (o.get("spec") or {}).get("namespaceSelector") is not None])

    def _subject_changed(self, res: Resource, obj: Obj) -> None:
        ns = (obj.get("metadata") or {}).get("namespace")
        for b in self.bindings.lister.list(ns):
            subj = (b.get("spec") or {}).get("subject") or {}
            if subj.get("kind") == res.kind and subj.get("apiVersion") == res.api_version:
                self.binding.enqueue(b)

    async def served(self, quiet: bool = False) -> bool:
        """Whether every sources CRD is served."""
        missing = [r.plural for r in ALL_SOURCES
                   if not await self.discovery.serves(r.api_version, r.plural)]
        if missing and not quiet:
            log.warning("sources off until the API server serves %s in %s (install "
                        "charts/knpy/crds/sources.yaml)", ", ".join(missing), API_VERSION)
        return not missing

    async def run(self, recheck: float = 10.0) -> None:
        """Wait until the sources CRDs are served (re-checking discovery, so CRDs installed
        later turn the sources on), then run the informers and the controllers."""
        quiet = False
        while not await self.served(quiet):
            quiet = True
            await asyncio.sleep(recheck)
            self.discovery.invalidate()
        tasks = [asyncio.create_task(i.run(), name=f"informer-{i.resource.plural}")
                 for i in self.informers]
        try:
            # the namespaces informer only re-triggers namespaceSelector sources: the rest
            # must not wait for it (e.g. while RBAC for namespaces is missing)
            await asyncio.gather(*(i.wait_synced() for i in self.informers
                                   if i is not self.namespaces))
            self.enabled = True
            log.info("sources on: %d PingSource(s), %d SinkBinding(s), %d ApiServerSource(s), "
                     "%d ContainerSource(s)", len(self.pings.lister), len(self.bindings.lister),
                     len(self.apiservers.lister), len(self.containers.lister))
            tasks += [asyncio.create_task(c.run(), name=f"controller-{c.name}")
                      for c in self.controllers]
            await asyncio.gather(*tasks)
        finally:
            self.enabled = False
            await cancel_and_wait(tasks)

    def set_cluster_domain(self, domain: str) -> None:
        for r in self.resolvers:
            r.cluster_domain = domain
        self.resync(slow=False)

    def resync(self, slow: bool = True) -> None:
        """Re-queue every source (the periodic level-triggered catch-all)."""
        if not self.enabled:
            return
        for c, inf in ((self.ping, self.pings), (self.binding, self.bindings),
                       (self.apiserver, self.apiservers), (self.container, self.containers)):
            c.enqueue_all(inf.lister, slow=slow)

    def promote(self) -> None:
        for c, inf in ((self.ping, self.pings), (self.binding, self.bindings),
                       (self.apiserver, self.apiservers), (self.container, self.containers)):
            c.promote(inf.lister)

    def demote(self) -> None:
        for c in self.controllers:
            c.demote()

    async def close(self) -> None:
        await self.subjects.close()
        await asyncio.gather(*(t.close() for t in self.trackers))
