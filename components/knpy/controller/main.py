"""Wire the eventing reconcilers onto the shared runtime and run them.

Informers: Brokers, Triggers (all namespaces), ConfigMaps and Deployments in the system
namespace. Controllers: broker, trigger, contract. Leader election (one Lease per process
kind) gates every write; non-leaders keep their caches warm for a fast takeover.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from knpy.apis.eventing.config import EVENTING_CONFIG, EventingConfig, parse_eventing_config
from knpy.controller.eventing.broker import BrokerReconciler
from knpy.controller.eventing.contract import ContractReconciler
from knpy.controller.eventing.resolver import URIResolver
from knpy.controller.eventing.resources import BROKERS, DEPLOYMENTS, TRIGGERS
from knpy.controller.eventing.trigger import TriggerReconciler
from knpy.controller.sources.wiring import SourcesControllers
from knpy.runtime.k8s import (
    Client,
    ConfigStore,
    Controller,
    Discovery,
    EventRecorder,
    Informer,
    LeaderElector,
    Tracker,
)
from knpy.runtime.k8s.probes import serve_probes

__all__ = ["ControllerApp", "Options"]

log = logging.getLogger("knpy.controller")

CONTRACT_QUEUE_KEY = "contract"


@dataclass
class Options:
    namespace: str = "knpy-system"
    contract_configmap: str = "knpy-broker-contract"
    leader_election: bool = True
    lease_name: str = "knpy-controller"
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    identity: str | None = None
    workers: int = 2
    watch_timeout: int = 300
    probe_host: str = "0.0.0.0"
    probe_port: int = 0  # 0: no probe server


class ControllerApp:
    def __init__(self, client: Client, opts: Options) -> None:
        self.client, self.opts = client, opts
        ns = opts.namespace
        self.brokers = Informer(client, BROKERS, watch_timeout=opts.watch_timeout)
        self.triggers = Informer(client, TRIGGERS, watch_timeout=opts.watch_timeout)
        self.deployments = Informer(client, DEPLOYMENTS, namespace=ns,
                                    watch_timeout=opts.watch_timeout)
        self.config = ConfigStore(client, ns, {EVENTING_CONFIG: parse_eventing_config},
                                  on_change=self._config_changed)
        assert self.config.informer is not None
        self.configmaps = self.config.informer
        self.configmaps.watch_timeout = opts.watch_timeout
        recorder = EventRecorder(client, "knpy-controller")
        self.discovery = Discovery(client)
        domain = self.cfg().cluster_domain
        # Each reconciler tracks the objects it references (ksvc, Service, ...) in its
        # own Tracker, so a change re-queues the right kind's keys.
        self.trackers = [
            Tracker(client, self.discovery, lambda k: self.broker.enqueue_key(k),
                    watch_timeout=opts.watch_timeout),
            Tracker(client, self.discovery, lambda k: self.trigger.enqueue_key(k),
                    watch_timeout=opts.watch_timeout)]
        self.resolvers = [URIResolver(client, self.discovery, domain, t)
                          for t in self.trackers]

        self.contract = Controller(ContractReconciler(
            client, self.brokers.lister, self.triggers.lister, self.configmaps.lister, ns,
            opts.contract_configmap, self.cfg), workers=1)
        poke = lambda: self.contract.enqueue_key(CONTRACT_QUEUE_KEY)  # noqa: E731
        self.broker = Controller(BrokerReconciler(
            client, self.brokers.lister, recorder, resolver=self.resolvers[0],
            configmaps=self.configmaps.lister, deployments=self.deployments.lister,
            system_namespace=ns, contract_name=opts.contract_configmap, config=self.cfg,
            on_reconciled=poke), workers=opts.workers)
        self.trigger = Controller(TriggerReconciler(
            client, self.triggers.lister, recorder, brokers=self.brokers.lister,
            resolver=self.resolvers[1], config=self.cfg, on_reconciled=poke),
            workers=opts.workers)
        self.controllers = [self.broker, self.trigger, self.contract]
        # sources.knative.dev (docs/sources.md): on only when its CRDs are served
        self.sources = SourcesControllers(client, self.discovery, recorder,
                                          system_namespace=ns, cluster_domain=domain,
                                          workers=opts.workers,
                                          watch_timeout=opts.watch_timeout)
        if opts.leader_election:
            self.sources.demote()
        self.elector: LeaderElector | None = None
        if opts.leader_election:
            for c in self.controllers:
                c.demote()
            self.elector = LeaderElector(
                client, ns, opts.lease_name, identity=opts.identity,
                lease_duration=opts.lease_duration, renew_deadline=opts.renew_deadline,
                retry_period=opts.retry_period, on_started_leading=self._promote,
                on_stopped_leading=self._demote)
        self._wire()

    def cfg(self) -> EventingConfig:
        return self.config.get(EVENTING_CONFIG)

    # ------------------------------------------------------------------ wiring
    def _wire(self) -> None:
        self.broker.watch(self.brokers)
        self.trigger.watch(self.triggers)
        # a broker change re-queues its triggers (they may exist before it)
        self.trigger.watch(self.brokers, self._triggers_of)
        for inf in (self.brokers, self.triggers):
            inf.on_change(lambda _o: self.contract.enqueue_key(CONTRACT_QUEUE_KEY))

        def on_cm(o: dict) -> None:
            if o["metadata"]["name"] == self.opts.contract_configmap:
                # contract written (or tampered with): brokers re-check readiness, and
                # the contract reconciler restores it if it drifted.
                self.broker.enqueue_all(self.brokers.lister, slow=False)
                self.contract.enqueue_key(CONTRACT_QUEUE_KEY)
        self.configmaps.on_change(on_cm)
        self.deployments.on_change(
            lambda _o: self.broker.enqueue_all(self.brokers.lister, slow=False))

    def _triggers_of(self, broker: dict) -> list[str]:
        ns, name = broker["metadata"].get("namespace"), broker["metadata"]["name"]
        return [f"{ns}/{t['metadata']['name']}"
                for t in self.triggers.lister.list(ns)
                if (t.get("spec") or {}).get("broker") == name]

    def _config_changed(self, name: str, cfg: EventingConfig) -> None:
        log.info("%s changed: %s", name, cfg)
        for r in self.resolvers:
            r.cluster_domain = cfg.cluster_domain
        self.sources.set_cluster_domain(cfg.cluster_domain)
        self.broker.enqueue_all(self.brokers.lister, slow=False)
        self.trigger.enqueue_all(self.triggers.lister, slow=True)
        self.contract.enqueue_key(CONTRACT_QUEUE_KEY)

    def _promote(self) -> None:
        log.info("leading: reconciling everything")
        self.broker.promote(self.brokers.lister)
        self.trigger.promote(self.triggers.lister)
        self.contract.reconciler.is_leader = True
        self.contract.enqueue_key(CONTRACT_QUEUE_KEY)
        self.sources.promote()

    def _demote(self) -> None:
        for c in self.controllers:
            c.demote()
        self.sources.demote()

    @property
    def is_leader(self) -> bool:
        return self.elector.is_leader if self.elector else True

    # ------------------------------------------------------------------ running
    async def check_apis(self) -> None:
        """Log the server version; wait, saying why, until the eventing CRDs are served
        (the informers would otherwise retry 404s quietly)."""
        major, minor = await self.discovery.server_version()
        log.info("API server %d.%d", major, minor)
        delay = 1.0
        while True:
            missing = [r.plural for r in (BROKERS, TRIGGERS)
                       if not await self.discovery.serves(r.api_version, r.plural)]
            if not missing:
                return
            log.error("the API server does not serve %s in %s: install "
                      "charts/knpy/crds/eventing.yaml; waiting", ", ".join(missing),
                      BROKERS.api_version)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)
            self.discovery.invalidate()

    def _healthy(self, tasks: list[asyncio.Task]) -> str | None:
        dead = [t.get_name() for t in tasks if t.done()]
        return f"stopped: {', '.join(dead)}" if dead else None

    def _ready(self, informers: list[Informer]) -> str | None:
        waiting = [i.resource.plural for i in informers if not i.synced.is_set()]
        return f"caches not synced: {', '.join(waiting)}" if waiting else None

    async def run(self) -> None:
        informers = [self.brokers, self.triggers, self.configmaps, self.deployments]
        tasks: list[asyncio.Task] = []
        probes = None
        if self.opts.probe_port:
            probes = await serve_probes(self.opts.probe_host, self.opts.probe_port,
                                        healthy=lambda: self._healthy(tasks),
                                        ready=lambda: self._ready(informers))
        try:
            await self.check_apis()
            tasks += [asyncio.create_task(i.run(), name=f"informer-{i.resource.plural}")
                      for i in informers]
            await asyncio.gather(*(i.wait_synced() for i in informers))
            log.info("caches synced: %d broker(s), %d trigger(s)", len(self.brokers.lister),
                     len(self.triggers.lister))
            tasks += [asyncio.create_task(c.run(), name=f"controller-{c.name}")
                      for c in self.controllers]
            tasks.append(asyncio.create_task(self.sources.run(), name="sources"))
            tasks.append(asyncio.create_task(self._resync()))
            if self.elector is not None:
                tasks.append(asyncio.create_task(self.elector.run(), name="leader-election"))
            else:
                self._promote()
            await asyncio.gather(*tasks)
        finally:
            for t in reversed(tasks):
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for tr in self.trackers:
                await tr.close()
            await self.sources.close()
            if probes is not None:
                await probes.cleanup()

    async def _resync(self) -> None:
        while True:
            await asyncio.sleep(self.cfg().resync_period)
            self.broker.enqueue_all(self.brokers.lister, slow=True)
            self.trigger.enqueue_all(self.triggers.lister, slow=True)
            self.contract.enqueue_key(CONTRACT_QUEUE_KEY)
            self.sources.resync()
