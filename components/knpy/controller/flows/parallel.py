"""Parallel reconciler: an ingress channel, and per branch a channel, a filter
Subscription on the ingress channel replying into it and a Subscription on it to the
branch's subscriber (children.py); status as Knative reports it (ingressChannelStatus,
branchStatuses, address = the ingress channel's)."""

from __future__ import annotations

from knpy.apis.flows.v1 import Parallel
from knpy.controller.flows.children import parallel_children
from knpy.controller.flows.owned import FlowReconciler
from knpy.controller.flows.resources import PARALLEL_RESOURCE
from knpy.runtime.k8s import Client, Lister, Recorder

__all__ = ["ParallelReconciler"]


class ParallelReconciler(FlowReconciler[Parallel]):
    def __init__(self, client: Client, lister: Lister, recorder: Recorder, *,
                 channels: Lister, subscriptions: Lister) -> None:
        super().__init__(client, lister, PARALLEL_RESOURCE, Parallel, recorder,
                         channels=channels, subscriptions=subscriptions, name="parallel")

    async def sync_children(self, p: Parallel) -> None:
        kids = parallel_children(p.raw)
        ingress = (kids.ingress, await self.sync_channel(p.raw, kids.ingress))
        channels = [(w, await self.sync_channel(p.raw, w)) for w in kids.branch_channels]
        filters = [(w, await self.sync_subscription(p.raw, w))
                   for w in kids.filter_subscriptions]
        subs = [(w, await self.sync_subscription(p.raw, w)) for w in kids.subscriptions]
        await self.prune(p.raw, kids.channels, kids.all_subscriptions)
        p.status.propagate(ingress, channels, filters, subs)
