"""Wire the eventing reconcilers onto the shared runtime (called from controller/main.py).

Informers: Brokers, Triggers (all namespaces), Deployments and Pods in the system namespace
(the broker pods report the contract generation they serve, dataplane.py); the ConfigMaps
informer (system namespace) is the config store's, shared. Controllers: broker,
trigger, contract. Each of the broker and trigger reconcilers tracks the objects it
references (ksvc, Service, ...) in its own Tracker, so a change re-queues the right keys.

Channels (messaging.knative.dev/v1: Channel, InMemoryChannel, Subscription) are on when
the API server serves their CRDs at start: their informers and controllers then start
with the others, and InMemoryChannels join the same contract (docs/channels.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from knpy.apis.eventing.config import EventingConfig
from knpy.controller.eventing.broker import BrokerReconciler
from knpy.controller.eventing.channel import ChannelReconciler
from knpy.controller.eventing.contract import ContractReconciler
from knpy.controller.eventing.dataplane import DataPlane
from knpy.controller.eventing.in_memory_channel import InMemoryChannelReconciler
from knpy.controller.eventing.resolver import URIResolver
from knpy.controller.eventing.resources import (
    BROKERS,
    CHANNELS,
    DEPLOYMENTS,
    IN_MEMORY_CHANNELS,
    MESSAGING,
    PODS,
    SUBSCRIPTIONS,
    TRIGGERS,
)
from knpy.controller.eventing.subscription import SubscriptionReconciler
from knpy.controller.eventing.trigger import TriggerReconciler
from knpy.runtime.k8s import Client, Controller, Discovery, Informer, Recorder, Tracker

__all__ = ["CONTRACT_QUEUE_KEY", "EventingControllers"]

log = logging.getLogger("knpy.controller.eventing")

CONTRACT_QUEUE_KEY = "contract"


class EventingControllers:
    def __init__(self, client: Client, discovery: Discovery, recorder: Recorder,
                 configmaps: Informer, config: Callable[[], EventingConfig], *,
                 system_namespace: str, contract_configmap: str, workers: int = 2,
                 watch_timeout: int = 300) -> None:
        ns, wt = system_namespace, watch_timeout
        self.discovery = discovery
        self.config = config
        self.contract_configmap = contract_configmap
        self.brokers = Informer(client, BROKERS, watch_timeout=wt)
        self.triggers = Informer(client, TRIGGERS, watch_timeout=wt)
        self.deployments = Informer(client, DEPLOYMENTS, namespace=ns, watch_timeout=wt)
        self.pods = Informer(client, PODS, namespace=ns, watch_timeout=wt)
        self.channels = Informer(client, CHANNELS, watch_timeout=wt)
        self.imcs = Informer(client, IN_MEMORY_CHANNELS, watch_timeout=wt)
        self.subscriptions = Informer(client, SUBSCRIPTIONS, watch_timeout=wt)
        self.messaging_informers = [self.channels, self.imcs, self.subscriptions]
        self.configmaps = configmaps
        self.informers = [self.brokers, self.triggers, self.configmaps, self.deployments,
                          self.pods]
        dataplane = DataPlane(self.configmaps.lister, self.deployments.lister,
                              self.pods.lister, system_namespace=ns,
                              contract_name=contract_configmap, config=config)
        domain = config().cluster_domain
        self.trackers = [
            Tracker(client, discovery, lambda k: self.broker.enqueue_key(k), watch_timeout=wt),
            Tracker(client, discovery, lambda k: self.trigger.enqueue_key(k), watch_timeout=wt),
            Tracker(client, discovery, lambda k: self.imc.enqueue_key(k), watch_timeout=wt),
            Tracker(client, discovery, lambda k: self.subscription.enqueue_key(k),
                    watch_timeout=wt)]
        self.resolvers = [URIResolver(client, discovery, domain, t) for t in self.trackers]

        self.contract = Controller(ContractReconciler(
            client, self.brokers.lister, self.triggers.lister, self.configmaps.lister, ns,
            contract_configmap, config, channels=self.imcs.lister), workers=1)
        self.broker = Controller(BrokerReconciler(
            client, self.brokers.lister, recorder, resolver=self.resolvers[0],
            dataplane=dataplane, config=config, on_reconciled=self.poke_contract),
            workers=workers)
        self.trigger = Controller(TriggerReconciler(
            client, self.triggers.lister, recorder, brokers=self.brokers.lister,
            resolver=self.resolvers[1], dataplane=dataplane, config=config,
            on_reconciled=self.poke_contract),
            workers=workers)
        self.imc = Controller(InMemoryChannelReconciler(
            client, self.imcs.lister, recorder, resolver=self.resolvers[2],
            dataplane=dataplane, config=config, on_reconciled=self.poke_contract),
            workers=workers)
        self.channel = Controller(ChannelReconciler(
            client, self.channels.lister, recorder, imcs=self.imcs.lister), workers=workers)
        self.subscription = Controller(SubscriptionReconciler(
            client, self.subscriptions.lister, recorder, resolver=self.resolvers[3],
            channels=self.channels.lister, imcs=self.imcs.lister), workers=workers)
        self.messaging_controllers = [self.imc, self.channel, self.subscription]
        self.messaging = False  # set by start(): the API server serves the CRDs
        self.controllers = [self.broker, self.trigger, self.contract,
                            *self.messaging_controllers]
        self._wire()

    def poke_contract(self) -> None:
        self.contract.enqueue_key(CONTRACT_QUEUE_KEY)

    def _wire(self) -> None:
        self._wire_messaging()
        self.broker.watch(self.brokers)
        self.trigger.watch(self.triggers)
        # a broker change re-queues its triggers (they may exist before it)
        self.trigger.watch(self.brokers, self._triggers_of)
        for inf in (self.brokers, self.triggers):
            inf.on_change(lambda _o: self.poke_contract())

        def on_cm(o: dict) -> None:
            if o["metadata"]["name"] == self.contract_configmap:
                # contract written (or tampered with): brokers and triggers re-check what
                # the data plane serves, and the contract reconciler restores it if it
                # drifted.
                self.recheck_data_plane()
                self.poke_contract()
        self.configmaps.on_change(on_cm)
        # a Deployment's availability, a pod's readiness or served generation changed
        self.deployments.on_change(lambda _o: self.recheck_data_plane())
        self.pods.on_change(lambda _o: self.recheck_data_plane())

    def _wire_messaging(self) -> None:
        self.imc.watch(self.imcs)
        self.channel.watch(self.channels)
        # a backing InMemoryChannel's change re-queues its Channel (same namespace/name)
        self.channel.watch(self.imcs, lambda o: [
            f"{o['metadata'].get('namespace')}/{r['name']}"
            for r in o["metadata"].get("ownerReferences") or []
            if r.get("kind") == "Channel" and r.get("controller")])
        self.subscription.watch(self.subscriptions)
        self.subscription.watch(self.channels, lambda o: self._subscriptions_of(o, "Channel"))
        self.subscription.watch(self.imcs,
                                lambda o: self._subscriptions_of(o, "InMemoryChannel"))
        self.imcs.on_change(lambda _o: self.poke_contract())

    def _subscriptions_of(self, channel: dict, kind: str) -> list[str]:
        ns, name = channel["metadata"].get("namespace"), channel["metadata"]["name"]
        return [f"{ns}/{s['metadata']['name']}"
                for s in self.subscriptions.lister.list(ns)
                if ((s.get("spec") or {}).get("channel") or {}).get("name") == name
                and ((s.get("spec") or {}).get("channel") or {}).get("kind") == kind]

    def recheck_data_plane(self) -> None:
        self.broker.enqueue_all(self.brokers.lister, slow=False)
        self.trigger.enqueue_all(self.triggers.lister, slow=False)
        self.imc.enqueue_all(self.imcs.lister, slow=False)

    def _triggers_of(self, broker: dict) -> list[str]:
        ns, name = broker["metadata"].get("namespace"), broker["metadata"]["name"]
        return [f"{ns}/{t['metadata']['name']}"
                for t in self.triggers.lister.list(ns)
                if (t.get("spec") or {}).get("broker") == name]

    def set_cluster_domain(self, domain: str) -> None:
        for r in self.resolvers:
            r.cluster_domain = domain
        self.broker.enqueue_all(self.brokers.lister, slow=False)
        self.trigger.enqueue_all(self.triggers.lister, slow=True)
        self.poke_contract()

    def resync(self) -> None:
        """Re-queue everything (the periodic level-triggered catch-all)."""
        self.broker.enqueue_all(self.brokers.lister, slow=True)
        self.trigger.enqueue_all(self.triggers.lister, slow=True)
        for c, inf in self._messaging_pairs():
            c.enqueue_all(inf.lister, slow=True)
        self.poke_contract()

    def _messaging_pairs(self) -> list[tuple[Controller, Informer]]:
        return list(zip(self.messaging_controllers, (self.imcs, self.channels,
                                                     self.subscriptions), strict=True))

    def promote(self) -> None:
        self.broker.promote(self.brokers.lister)
        self.trigger.promote(self.triggers.lister)
        for c, inf in self._messaging_pairs():
            c.promote(inf.lister)
        self.contract.reconciler.is_leader = True
        self.poke_contract()

    def demote(self) -> None:
        for c in self.controllers:
            c.demote()

    def not_synced(self) -> str | None:
        waiting = [i.resource.plural for i in self.informers if not i.synced.is_set()]
        return f"caches not synced: {', '.join(waiting)}" if waiting else None

    async def wait_served(self) -> None:
        """Wait, saying why, until the eventing CRDs are served (the informers would
        otherwise retry 404s quietly)."""
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

    async def start(self, tasks: list[asyncio.Task]) -> None:
        """Start the informers, wait for their caches, then start the controllers. The
        tasks go into `tasks` as they start (the caller watches and cancels them)."""
        self.messaging = all([await self.discovery.serves(r.api_version, r.plural)
                              for r in MESSAGING])
        if self.messaging:
            self.informers += self.messaging_informers
        else:
            log.warning("the API server does not serve %s: channels are off (install "
                        "charts/knpy/crds/messaging.yaml and restart)",
                        ", ".join(r.plural for r in MESSAGING))
        tasks += [asyncio.create_task(i.run(), name=f"informer-{i.resource.plural}")
                  for i in self.informers]
        await asyncio.gather(*(i.wait_synced() for i in self.informers))
        log.info("caches synced: %d broker(s), %d trigger(s)", len(self.brokers.lister),
                 len(self.triggers.lister))
        tasks += [asyncio.create_task(c.run(), name=f"controller-{c.name}")
                  for c in self.controllers
                  if self.messaging or c not in self.messaging_controllers]

    async def close(self) -> None:
        for tr in self.trackers:
            await tr.close()
