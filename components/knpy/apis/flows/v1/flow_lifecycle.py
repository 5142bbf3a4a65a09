"""Sequence and Parallel status, as Knative reports it: the conditions ChannelsReady,
SubscriptionsReady and Addressable under Ready, status.address (the first channel's, the
Parallel's ingress channel's), and one `{channel|subscription: ObjectReference, ready:
Condition}` item per child (channelStatuses/subscriptionStatuses of a Sequence,
ingressChannelStatus and branchStatuses of a Parallel).

A child's `ready` is its own Ready condition (a channel and a subscription report Ready
only once the data plane serves them, docs/channels.md), so a flow is Ready when an event
sent to its address flows through every step."""

from __future__ import annotations

import copy
from collections.abc import Sequence as Seq
from typing import Any

from knpy.apis.duck.conditions import ConditionSet, Status
from knpy.apis.duck.delivery import ADDRESSABLE

__all__ = ["CHANNELS_READY", "FLOW_CONDITIONS", "SUBSCRIPTIONS_READY", "ParallelStatus",
           "SequenceStatus", "child_status"]

CHANNELS_READY = "ChannelsReady"
SUBSCRIPTIONS_READY = "SubscriptionsReady"
FLOW_CONDITIONS = ConditionSet(CHANNELS_READY, SUBSCRIPTIONS_READY, ADDRESSABLE)

Obj = dict[str, Any]


def _ref(obj: Obj) -> dict[str, str]:
    md = obj.get("metadata") or {}
    return {"apiVersion": obj.get("apiVersion", ""), "kind": obj.get("kind", ""),
            "name": md.get("name", ""), "namespace": md.get("namespace", "")}


def child_status(field: str, want: Obj, have: Obj | None) -> tuple[Obj, bool]:
    """`{field: ref, ready: condition}` for a child (`want` names it, `have` is what the
    API server has, None if not created yet) and whether it is Ready."""
    ready = None
    for c in ((have or {}).get("status") or {}).get("conditions") or []:
        if isinstance(c, dict) and c.get("type") == "Ready":
            ready = copy.deepcopy(c)
    if ready is None:
        what = want.get("kind", "object")
        ready = {"type": "Ready", "status": "Unknown", "reason": "NoReady",
                 "message": f"{what} does not exist yet" if have is None else
                            f"{what} does not have Ready condition"}
    return {field: _ref(want), "ready": ready}, ready.get("status") == "True"


def _address(have: Obj | None) -> str | None:
    return (((have or {}).get("status") or {}).get("address") or {}).get("url") or None


class _FlowStatus(Status):
    cset = FLOW_CONDITIONS
    # Knative's Sequence reports a child not ready as Unknown, its Parallel as False
    not_ready_status = "Unknown"

    def _mark_not(self, type_: str, reason: str, message: str) -> None:
        if self.not_ready_status == "False":
            self.conditions.mark_false(type_, reason, message)
        else:
            self.conditions.mark_unknown(type_, reason, message)

    def set_address(self, url: str | None) -> None:
        if url:
            self.raw["address"] = {"url": url}
            self.conditions.mark_true(ADDRESSABLE)
        else:
            self.raw.pop("address", None)
            self._mark_not(ADDRESSABLE, "emptyAddress", "addressable is nil")

    def _mark(self, type_: str, ok: bool, what: str) -> None:
        if ok:
            self.conditions.mark_true(type_)
        else:
            self._mark_not(type_, f"{what}NotReady",
                           f"{what} are not ready yet, or there are none")

    def mark_channels_failed(self, reason: str, message: str) -> None:
        self.conditions.mark_false(CHANNELS_READY, reason, message)

    def mark_not_owned(self, kind: str, message: str) -> None:
        """A child of the flow's name exists and another owner controls it."""
        self.conditions.mark_false(
            SUBSCRIPTIONS_READY if kind == "Subscription" else CHANNELS_READY, "NotOwned",
            message)


Pair = tuple[Obj, Obj | None]  # (the child as the flow wants it, the child as it is)


class SequenceStatus(_FlowStatus):
    def propagate(self, channels: Seq[Pair], subscriptions: Seq[Pair]) -> None:
        ch = [child_status("channel", w, h) for w, h in channels]
        subs = [child_status("subscription", w, h) for w, h in subscriptions]
        self.raw["channelStatuses"] = [s for s, _ in ch]
        self.raw["subscriptionStatuses"] = [s for s, _ in subs]
        self.set_address(_address(channels[0][1]) if channels else None)
        self._mark(CHANNELS_READY, bool(ch) and all(ok for _, ok in ch), "Channels")
        self._mark(SUBSCRIPTIONS_READY, bool(subs) and all(ok for _, ok in subs),
                   "Subscriptions")


class ParallelStatus(_FlowStatus):
    not_ready_status = "False"

    def propagate(self, ingress: Pair, branch_channels: Seq[Pair],
                  filter_subscriptions: Seq[Pair], subscriptions: Seq[Pair]) -> None:
        ing, ing_ok = child_status("channel", *ingress)
        self.raw["ingressChannelStatus"] = ing
        self.set_address(_address(ingress[1]))
        branches: list[Obj] = []
        ch_ok, subs_ok = ing_ok, bool(subscriptions)
        for c, f, s in zip(branch_channels, filter_subscriptions, subscriptions, strict=True):
            cs, c_ok = child_status("channel", *c)
            fs, f_ok = child_status("subscription", *f)
            ss, s_ok = child_status("subscription", *s)
            branches.append({"filterChannelStatus": cs, "filterSubscriptionStatus": fs,
                             "subscriberSubscriptionStatus": ss})
            ch_ok, subs_ok = ch_ok and c_ok, subs_ok and f_ok and s_ok
        self.raw["branchStatuses"] = branches
        self._mark(CHANNELS_READY, ch_ok, "Channels")
        self._mark(SUBSCRIPTIONS_READY, subs_ok, "Subscriptions")
