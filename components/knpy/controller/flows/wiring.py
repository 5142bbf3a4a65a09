"""Wire the flows reconcilers onto the shared runtime (called from controller/main.py).

Informers: Sequences and Parallels; the InMemoryChannel and Subscription informers are the
eventing wiring's (shared), and a change of a child re-queues the flow that controls it.
Flows are on once the API server serves their CRDs (re-checked, so CRDs installed later
turn them on) and channels are on (they are built of channels and subscriptions).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from knpy.apis.flows.v1 import API_VERSION
from knpy.controller.flows.parallel import ParallelReconciler
from knpy.controller.flows.resources import FLOWS, PARALLEL_RESOURCE, SEQUENCE_RESOURCE
from knpy.controller.flows.sequence import SequenceReconciler
from knpy.runtime.k8s import Client, Controller, Discovery, Informer, Recorder
from knpy.runtime.k8s.ownerrefs import controlled_by_keys
from knpy.runtime.process import cancel_and_wait

__all__ = ["FlowsControllers"]

log = logging.getLogger("knpy.controller.flows")


class FlowsControllers:
    def __init__(self, client: Client, discovery: Discovery, recorder: Recorder, *,
                 channels: Informer, subscriptions: Informer,
                 channels_on: Callable[[], bool], workers: int = 2,
                 watch_timeout: int = 300) -> None:
        self.discovery = discovery
        self.channels_on = channels_on
        self.shared = [channels, subscriptions]
        self.sequences = Informer(client, SEQUENCE_RESOURCE, watch_timeout=watch_timeout)
        self.parallels = Informer(client, PARALLEL_RESOURCE, watch_timeout=watch_timeout)
        self.sequence = Controller(SequenceReconciler(
            client, self.sequences.lister, recorder, channels=channels.lister,
            subscriptions=subscriptions.lister), workers=workers)
        self.parallel = Controller(ParallelReconciler(
            client, self.parallels.lister, recorder, channels=channels.lister,
            subscriptions=subscriptions.lister), workers=workers)
        self.pairs = ((self.sequence, self.sequences), (self.parallel, self.parallels))
        self.enabled = False
        for c, inf in self.pairs:
            c.watch(inf)
            for child in self.shared:
                c.watch(child, controlled_by_keys(inf.resource))

    async def served(self, quiet: bool = False) -> bool:
        missing = [r.plural for r in FLOWS
                   if not await self.discovery.serves(r.api_version, r.plural)]
        if missing and not quiet:
            log.warning("flows off until the API server serves %s in %s (install "
                        "charts/knpy/crds/flows.yaml)", ", ".join(missing), API_VERSION)
        return not missing

    async def run(self, recheck: float = 10.0) -> None:
        """Wait until flows can run (see the module doc), then run the informers and the
        controllers."""
        quiet = False
        while not (self.channels_on() and await self.served(quiet)):
            if not quiet and not self.channels_on():
                log.warning("flows off: they need channels (messaging.knative.dev CRDs "
                            "installed before the controller starts)")
            quiet = True
            await asyncio.sleep(recheck)
            self.discovery.invalidate()
        tasks = [asyncio.create_task(i.run(), name=f"informer-{i.resource.plural}")
                 for i in (self.sequences, self.parallels)]
        try:
            await asyncio.gather(*(i.wait_synced() for i in
                                   (self.sequences, self.parallels, *self.shared)))
            self.enabled = True
            log.info("flows on: %d Sequence(s), %d Parallel(s)", len(self.sequences.lister),
                     len(self.parallels.lister))
            for c, inf in self.pairs:
                c.enqueue_all(inf.lister, slow=False)
            tasks += [asyncio.create_task(c.run(), name=f"controller-{c.name}")
                      for c, _ in self.pairs]
            await asyncio.gather(*tasks)
        finally:
            self.enabled = False
            await cancel_and_wait(tasks)

    def resync(self) -> None:
        if self.enabled:
            for c, inf in self.pairs:
                c.enqueue_all(inf.lister, slow=True)

    def promote(self) -> None:
        for c, inf in self.pairs:
            c.promote(inf.lister)

    def demote(self) -> None:
        for c, _ in self.pairs:
            c.demote()
