"""What the Sequence and Parallel reconcilers share: refuse a channelTemplate knpy cannot
serve; keep each child channel and Subscription as the flow wants it (runtime.k8s.children:
create it, correct drift, refuse one another owner controls) and delete the children the
flow no longer wants (steps or branches removed).

A channel's spec.subscribers is written by its Subscriptions, so drift of a channel is
judged on the rest of its spec. A Subscription's spec.channel is immutable: when it must
change the Subscription is deleted and created again once it is gone (its finalizer first
takes it out of its old channel)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from knpy.apis.flows.v1.flow_types import Parallel, Sequence
from knpy.controller.eventing.resources import IN_MEMORY_CHANNELS, SUBSCRIPTIONS
from knpy.controller.flows.children import unsupported_template
from knpy.runtime.k8s import (
    ApiError,
    Client,
    Lister,
    Reconciler,
    Recorder,
    Resource,
    is_controlled_by,
)
from knpy.runtime.k8s.children import NotControlled, delete_unwanted, sync_child

__all__ = ["FlowReconciler"]

Obj = dict[str, Any]
T = TypeVar("T", bound=Sequence | Parallel)


def _same_channel(have: Obj, want: Obj) -> bool:
    """A channel's spec.subscribers is its Subscriptions' to write."""
    spec = {k: v for k, v in (have.get("spec") or {}).items() if k != "subscribers"}
    return spec == want["spec"]


def _same_spec(have: Obj, want: Obj) -> bool:
    return have.get("spec") == want["spec"]


class FlowReconciler(Reconciler[T]):
    def __init__(self, client: Client, lister: Lister, resource: Resource,
                 wrap: Callable[[Obj], T], recorder: Recorder, *, channels: Lister,
                 subscriptions: Lister, name: str) -> None:
        super().__init__(client, lister, resource, wrap, recorder, name=name)
        self.channels = channels
        self.subscriptions = subscriptions

    async def reconcile_kind(self, flow: T) -> None:
        st = flow.status
        why = unsupported_template(flow.channel_template)
        if why is not None:
            st.mark_channels_failed("ChannelTemplateUnsupported", why)
            return
        try:
            await self.sync_children(flow)
        except NotControlled as exc:
            st.mark_not_owned(exc.kind, str(exc))

    async def sync_children(self, flow: T) -> None:
        """Sync every child, prune the unwanted ones, propagate their status."""
        raise NotImplementedError

    async def sync_channel(self, flow: Obj, want: Obj) -> Obj:
        return await sync_child(self.client, IN_MEMORY_CHANNELS, self.channels, flow, want,
                                same=_same_channel, kept_spec=("subscribers",))

    async def sync_subscription(self, flow: Obj, want: Obj) -> Obj | None:
        md = want["metadata"]
        have = self.subscriptions.get(md["namespace"], md["name"])
        if have is not None and is_controlled_by(have, flow):
            if have["metadata"].get("deletionTimestamp"):
                return None  # re-created when it is gone (its delete event re-queues the flow)
            if (have.get("spec") or {}).get("channel") != want["spec"]["channel"]:
                await self._delete(SUBSCRIPTIONS, have)  # spec.channel is immutable
                return None
        return await sync_child(self.client, SUBSCRIPTIONS, self.subscriptions, flow, want,
                                same=_same_spec)

    async def _delete(self, res: Resource, obj: Obj) -> None:
        try:
            await self.client.delete(res, obj["metadata"]["namespace"],
                                     obj["metadata"]["name"])
        except ApiError as exc:
            if not exc.not_found:
                raise

    async def prune(self, flow: Obj, channels: list[Obj], subscriptions: list[Obj]) -> None:
        """Delete the children of this flow that it no longer wants (subscriptions first:
        their finalizers take them out of the channels being deleted)."""
        for res, lister, wanted in ((SUBSCRIPTIONS, self.subscriptions, subscriptions),
                                    (IN_MEMORY_CHANNELS, self.channels, channels)):
            await delete_unwanted(self.client, res, lister, flow,
                                  {w["metadata"]["name"] for w in wanted})
