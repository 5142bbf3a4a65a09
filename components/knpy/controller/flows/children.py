"""The channels and Subscriptions a Sequence or Parallel owns, as Knative builds them.

Sequence `s` with n steps: channels `s-kn-sequence-<i>` of the channelTemplate's kind, and
on each a Subscription of the same name whose subscriber is step i (with its delivery) and
whose reply is channel i+1, the last one's spec.reply (or none). Its address is channel 0's.

Parallel `p`: the ingress channel `p-kn-parallel`; per branch i a channel
`p-kn-parallel-<i>`, a filter Subscription `p-kn-parallel-filter-<i>` on the ingress channel
(subscriber: the branch's filter, reply: the branch channel; without a filter it only
forwards, so every event enters the branch) and a Subscription `p-kn-parallel-<i>` on the
branch channel to the branch's subscriber, replying to the branch's reply, else the
Parallel's, with the branch's delivery. A filter passes an event by replying with it (any
CloudEvent); an empty 2xx drops it.

Children are built already defaulted as the webhook would default them, so comparing them
with what the API server holds finds real drift only."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from knpy.apis.messaging.v1 import (
    API_VERSION as MESSAGING,
)
from knpy.apis.messaging.v1 import (
    IN_MEMORY_CHANNEL_KIND,
    set_in_memory_channel_defaults,
    set_subscription_defaults,
)
from knpy.runtime.k8s import owner_reference
from knpy.runtime.k8s.naming import child_name

__all__ = ["ParallelChildren", "SequenceChildren", "parallel_children", "sequence_children",
           "unsupported_template"]

Obj = dict[str, Any]


def unsupported_template(template: Any) -> str | None:
    """Why a channelTemplate cannot back a flow's channels (None: it can)."""
    t = template if isinstance(template, dict) else {}
    if t.get("apiVersion") == MESSAGING and t.get("kind") == IN_MEMORY_CHANNEL_KIND:
        return None
    return (f"knpy backs flows with {IN_MEMORY_CHANNEL_KIND} ({MESSAGING}) channels only, "
            f"not {t.get('kind')!r} ({t.get('apiVersion')!r})")


def _meta(flow: Obj, name: str) -> Obj:
    return {"name": name, "namespace": flow["metadata"]["namespace"],
            "ownerReferences": [owner_reference(flow)]}


def _channel(flow: Obj, name: str) -> Obj:
    t = flow["spec"]["channelTemplate"]
    return set_in_memory_channel_defaults({
        "apiVersion": t["apiVersion"], "kind": t["kind"], "metadata": _meta(flow, name),
        "spec": copy.deepcopy(t.get("spec") or {})})


def _to(channel: Obj) -> Obj:
    """A Destination pointing at a channel."""
    md = channel["metadata"]
    return {"ref": {"apiVersion": channel["apiVersion"], "kind": channel["kind"],
                    "name": md["name"], "namespace": md["namespace"]}}


def _subscription(flow: Obj, name: str, channel: Obj, subscriber: Any, reply: Any,
                  delivery: Any = None) -> Obj:
    spec: Obj = {"channel": {"apiVersion": channel["apiVersion"], "kind": channel["kind"],
                             "name": channel["metadata"]["name"]}}
    for k, v in (("subscriber", subscriber), ("reply", reply), ("delivery", delivery)):
        if v:
            spec[k] = copy.deepcopy(v)
    return set_subscription_defaults({
        "apiVersion": MESSAGING, "kind": "Subscription", "metadata": _meta(flow, name),
        "spec": spec})


def _list(flow: Obj, key: str) -> list[Obj]:
    v = (flow.get("spec") or {}).get(key)
    return [x if isinstance(x, dict) else {} for x in v] if isinstance(v, list) else []


@dataclass
class SequenceChildren:
    channels: list[Obj]
    subscriptions: list[Obj]


def sequence_children(seq: Obj) -> SequenceChildren:
    name = seq["metadata"]["name"]
    steps = _list(seq, "steps")
    channels = [_channel(seq, child_name(name, f"-kn-sequence-{i}"))
                for i in range(len(steps))]
    subs = []
    for i, step in enumerate(steps):
        dest = {k: v for k, v in step.items() if k != "delivery"}
        reply = _to(channels[i + 1]) if i + 1 < len(steps) else \
            (seq.get("spec") or {}).get("reply")
        subs.append(_subscription(seq, channels[i]["metadata"]["name"], channels[i], dest,
                                  reply, step.get("delivery")))
    return SequenceChildren(channels, subs)


@dataclass
class ParallelChildren:
    ingress: Obj
    branch_channels: list[Obj]
    filter_subscriptions: list[Obj]
    subscriptions: list[Obj]

    @property
    def channels(self) -> list[Obj]:
        return [self.ingress, *self.branch_channels]

    @property
    def all_subscriptions(self) -> list[Obj]:
        return [*self.filter_subscriptions, *self.subscriptions]


def parallel_children(par: Obj) -> ParallelChildren:
    name = par["metadata"]["name"]
    ingress = _channel(par, child_name(name, "-kn-parallel"))
    out = ParallelChildren(ingress, [], [], [])
    for i, b in enumerate(_list(par, "branches")):
        ch = _channel(par, child_name(name, f"-kn-parallel-{i}"))
        out.branch_channels.append(ch)
        out.filter_subscriptions.append(_subscription(
            par, child_name(name, f"-kn-parallel-filter-{i}"), ingress, b.get("filter"),
            _to(ch)))
        out.subscriptions.append(_subscription(
            par, child_name(name, f"-kn-parallel-{i}"), ch, b.get("subscriber"),
            b.get("reply") or (par.get("spec") or {}).get("reply"), b.get("delivery")))
    return out
