"""Channel reconciler (the generic Channel): keep its backing channel, of the kind
spec.channelTemplate names, in step with it and mirror the backing channel's status.

As Knative's: the backing channel has the Channel's name and namespace and is controlled by
it; its spec is the template's spec plus the Channel's delivery and subscribers (which the
Subscriptions write into the Channel). knpy serves one backing kind, InMemoryChannel (served
durably by the broker data plane, docs/channels.md); another kind leaves the Channel not
Ready with a reason saying so.
"""

from __future__ import annotations

import copy
from typing import Any

from knpy.apis.messaging.v1 import API_VERSION, IN_MEMORY_CHANNEL_KIND, Channel
from knpy.controller.eventing.resources import CHANNELS, IN_MEMORY_CHANNELS
from knpy.runtime.k8s import ApiError, Client, Lister, Reconciler, Recorder, is_controlled_by

__all__ = ["ChannelReconciler", "backing_channel"]


def backing_channel(ch: dict[str, Any]) -> dict[str, Any]:
    md = ch["metadata"]
    spec_in = ch.get("spec") or {}
    template = spec_in.get("channelTemplate") or {}
    spec = copy.deepcopy(template.get("spec") or {})
    for k in ("delivery", "subscribers"):
        if spec_in.get(k) is not None:
            spec[k] = copy.deepcopy(spec_in[k])
    return {"apiVersion": API_VERSION, "kind": IN_MEMORY_CHANNEL_KIND,
            "metadata": {"name": md["name"], "namespace": md["namespace"],
                         "labels": {"messaging.knative.dev/channel": md["name"]},
                         "ownerReferences": [{
                             "apiVersion": API_VERSION, "kind": "Channel", "name": md["name"],
                             "uid": md["uid"], "controller": True,
                             "blockOwnerDeletion": True}]},
            "spec": spec}


class ChannelReconciler(Reconciler[Channel]):
    def __init__(self, client: Client, lister: Lister, recorder: Recorder, *,
                 imcs: Lister) -> None:
        super().__init__(client, lister, CHANNELS, Channel, recorder, name="channel")
        self.imcs = imcs

    async def reconcile_kind(self, c: Channel) -> None:
        st = c.status
        t = c.channel_template or {}
        ref = {"apiVersion": t.get("apiVersion", ""), "kind": t.get("kind", ""),
               "name": c.name, "namespace": c.namespace}
        if t.get("kind") != IN_MEMORY_CHANNEL_KIND or t.get("apiVersion") != API_VERSION:
            st.raw["channel"] = ref
            st.conditions.mark_false("BackingChannelReady", "ChannelTemplateUnsupported",
                                     f"knpy backs channels with {IN_MEMORY_CHANNEL_KIND} "
                                     f"({API_VERSION}) only, not {t.get('kind')!r}")
            return
        want = backing_channel(c.raw)
        have = self.imcs.get(c.namespace, c.name)
        if have is None:
            try:
                have = await self.client.create(IN_MEMORY_CHANNELS, want)
            except ApiError as exc:
                if not exc.already_exists:
                    raise
                have = None  # the cache will bring it: re-queued on its event
        elif not is_controlled_by(have, c.raw):
            st.conditions.mark_false("BackingChannelReady", "ChannelNotOwned",
                                     f"InMemoryChannel {c.name!r} exists and is not "
                                     "controlled by this Channel")
            return
        elif (have.get("spec") or {}) != {**(have.get("spec") or {}), **want["spec"]} or \
                _dropped(have, want):
            new = copy.deepcopy(have)
            new.setdefault("apiVersion", API_VERSION)
            new.setdefault("kind", IN_MEMORY_CHANNEL_KIND)
            new["spec"] = {**(have.get("spec") or {}), **want["spec"]}
            for k in ("delivery", "subscribers"):
                if k not in want["spec"]:
                    new["spec"].pop(k, None)
            new.pop("status", None)
            await self.client.update(IN_MEMORY_CHANNELS, new)
        st.propagate_backing(ref, have)


def _dropped(have: dict, want: dict) -> bool:
    """The Channel no longer sets delivery/subscribers the backing channel still has."""
    hs = have.get("spec") or {}
    return any(k in hs and k not in want["spec"] for k in ("delivery", "subscribers"))
