"""Sequence reconciler: a channel per step and a Subscription on it to the step, replying
into the next channel, the last to spec.reply (children.py); status as Knative reports it
(channelStatuses, subscriptionStatuses, address = the first channel's)."""

from __future__ import annotations

from knpy.apis.flows.v1 import Sequence
from knpy.controller.flows.children import sequence_children
from knpy.controller.flows.owned import FlowReconciler
from knpy.controller.flows.resources import SEQUENCE_RESOURCE
from knpy.runtime.k8s import Client, Lister, Recorder

__all__ = ["SequenceReconciler"]


class SequenceReconciler(FlowReconciler[Sequence]):
    def __init__(self, client: Client, lister: Lister, recorder: Recorder, *,
                 channels: Lister, subscriptions: Lister) -> None:
        super().__init__(client, lister, SEQUENCE_RESOURCE, Sequence, recorder,
                         channels=channels, subscriptions=subscriptions, name="sequence")

    async def sync_children(self, s: Sequence) -> None:
        kids = sequence_children(s.raw)
        channels = [(w, await self.sync_channel(s.raw, w)) for w in kids.channels]
        subs = [(w, await self.sync_subscription(s.raw, w)) for w in kids.subscriptions]
        await self.prune(s.raw, kids.channels, kids.subscriptions)
        s.status.propagate(channels, subs)
