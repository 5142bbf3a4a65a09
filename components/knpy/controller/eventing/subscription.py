"""Subscription reconciler: resolve channel, subscriber, reply and dead-letter sink, write
this subscription into its channel's spec.subscribers, report the physical subscription and
whether the channel serves it.

As Knative's: the channel (a Channel or an InMemoryChannel) must exist and be a
subscribable; a subscriber, reply or dead-letter ref that does not exist (yet) leaves
ReferencesResolved False with a reason naming it, and the Subscription recovers when the
ref appears (refs are tracked). The dead-letter sink is the subscription's, else the
channel's. ChannelReady follows the channel's status.subscribers entry for this uid at
this generation. A finalizer (Knative's name) holds a deleted Subscription until it has
left its channel's spec.subscribers; when a key goes, entries whose uid no live
Subscription of the namespace has are dropped too.
"""

from __future__ import annotations

import copy
from typing import Any

from knpy.apis.duck.destination import Destination
from knpy.apis.messaging.v1 import Subscription
from knpy.apis.messaging.v1.register import GROUP
from knpy.controller.eventing.resolver import ResolveError, URIResolver
from knpy.controller.eventing.resources import CHANNELS, IN_MEMORY_CHANNELS, SUBSCRIPTIONS
from knpy.runtime.k8s import ApiError, Client, Lister, Reconciler, Recorder, Resource

__all__ = ["SubscriptionReconciler"]

FINALIZER = "subscriptions.messaging.knative.dev"
_DELIVERY_FIELDS = ("retry", "backoffPolicy", "backoffDelay", "timeout", "retryAfterMax",
                    "format")


class SubscriptionReconciler(Reconciler[Subscription]):
    def __init__(self, client: Client, lister: Lister, recorder: Recorder, *,
                 resolver: URIResolver, channels: Lister, imcs: Lister) -> None:
        super().__init__(client, lister, SUBSCRIPTIONS, Subscription, recorder,
                         name="subscription")
        self.resolver = resolver
        self.listers = {"Channel": (CHANNELS, channels),
                        "InMemoryChannel": (IN_MEMORY_CHANNELS, imcs)}

    async def on_deleted(self, key: str) -> None:
        if self.resolver.tracker is not None:
            self.resolver.tracker.forget(key)
        ns = key.split("/", 1)[0]
        live = {(s["metadata"].get("uid") or "") for s in self.lister.list(ns)}
        for res, lister in self.listers.values():
            for ch in lister.list(ns):
                subs = (ch.get("spec") or {}).get("subscribers") or []
                if any(isinstance(s, dict) and s.get("uid") not in live for s in subs):
                    await self._write_subscribers(res, ch, lambda lst: [
                        s for s in lst if isinstance(s, dict) and s.get("uid") in live])

    async def _set_finalizers(self, s: Subscription, finalizers: list[str]) -> None:
        await self.client.patch(SUBSCRIPTIONS, s.namespace, s.name, {"metadata": {
            "finalizers": finalizers, "resourceVersion": s.metadata.get("resourceVersion")}})

    async def finalize_kind(self, s: Subscription) -> None:
        fins = list(s.metadata.get("finalizers") or [])
        if FINALIZER not in fins:
            return
        res, channel = self._channel(s) or (CHANNELS, None)
        if channel is not None:
            await self._write_subscribers(res, channel, lambda lst: [
                x for x in lst if not (isinstance(x, dict) and x.get("uid") == s.uid)])
        try:
            await self._set_finalizers(s, [f for f in fins if f != FINALIZER])
        except ApiError as exc:
            if not exc.not_found:
                raise

    def _channel(self, s: Subscription) -> tuple[Resource, dict | None] | None:
        ref = s.channel
        if ref is None or ref.api_version.split("/")[0] != GROUP or ref.kind not in \
                self.listers:
            return None
        res, lister = self.listers[ref.kind]
        return res, lister.get(s.namespace, ref.name)

    async def _resolve(self, what: str, dest: Destination | None, s: Subscription
                       ) -> str | None:
        if dest is None:
            return None
        try:
            return await self.resolver.uri(dest, s.namespace, s.key)
        except ResolveError as exc:
            raise ResolveError(f"{what}ResolveFailed",
                               f"Failed to resolve spec.{what.lower()}: {exc.message}"
                               ) from None

    async def reconcile_kind(self, s: Subscription) -> None:
        fins = list(s.metadata.get("finalizers") or [])
        if FINALIZER not in fins:
            await self._set_finalizers(s, [*fins, FINALIZER])
        st = s.status
        ref = s.channel
        found = self._channel(s)
        if ref is None or found is None:
            st.mark_references_not_resolved(
                "ChannelReferenceFailed",
                f"spec.channel must be a Channel or InMemoryChannel of {GROUP}")
            return
        res, channel = found
        await self.resolver.track(ref, s.namespace, s.key)
        if channel is None:
            st.mark_references_not_resolved(
                "ChannelReferenceFailed",
                f"Failed to get spec.channel: {ref.kind} {ref.name!r} not found")
            st.mark_channel_not_ready("ChannelNotFound", f"{ref.kind} {ref.name!r} not found")
            return
        delivery = s.delivery
        dls_dest = delivery.dead_letter_sink if delivery is not None else None
        if dls_dest is None:  # the channel's, as Knative falls back to it
            cd = (channel.get("spec") or {}).get("delivery") or {}
            dls_dest = Destination.from_dict(cd.get("deadLetterSink"))
        try:
            sub_uri = await self._resolve("Subscriber", s.subscriber, s)
            reply_uri = await self._resolve("Reply", s.reply, s)
            dls_uri = await self._resolve("DeadLetterSink", dls_dest, s)
        except ResolveError as exc:
            st.set_physical(None, None, None)
            st.mark_references_not_resolved(exc.reason, exc.message)
            return
        st.mark_references_resolved()
        st.set_physical(sub_uri, reply_uri, dls_uri)

        entry = self._entry(s, sub_uri, reply_uri, dls_uri)
        try:
            await self._write_subscribers(res, channel, lambda lst: _with_entry(lst, entry))
        except ApiError as exc:
            if exc.conflict:
                raise  # retried from a fresh cache
            st.mark_not_added_to_channel("SubscriberSyncFailed",
                                         f"Failed to update {ref.kind} {ref.name!r}: {exc}")
            return
        st.mark_added_to_channel()

        mine = next((x for x in ((channel.get("status") or {}).get("subscribers") or [])
                     if isinstance(x, dict) and x.get("uid") == s.uid), None)
        if mine is None or mine.get("observedGeneration") != s.generation:
            st.mark_channel_not_ready("SubscriptionNotMarkedReadyByChannel",
                                      "the channel has not reported this generation yet")
        elif mine.get("ready") == "True":
            st.mark_channel_ready()
        elif mine.get("ready") == "False":
            st.mark_channel_failed("SubscriptionNotMarkedReadyByChannel",
                                   mine.get("message") or "")
        else:
            st.mark_channel_not_ready("SubscriptionNotMarkedReadyByChannel",
                                      mine.get("message") or "")

    @staticmethod
    def _entry(s: Subscription, sub_uri: str | None, reply_uri: str | None,
               dls_uri: str | None) -> dict[str, Any]:
        entry: dict[str, Any] = {"uid": s.uid, "generation": s.generation}
        if sub_uri:
            entry["subscriberUri"] = sub_uri
        if reply_uri:
            entry["replyUri"] = reply_uri
        d = {k: v for k, v in (s.delivery.raw if s.delivery else {}).items()
             if k in _DELIVERY_FIELDS and v is not None}
        if dls_uri:
            d["deadLetterSink"] = {"uri": dls_uri}
        if d:
            entry["delivery"] = d
        return entry

    async def _write_subscribers(self, res: Resource, channel: dict, change) -> None:
        """Update the channel's spec.subscribers when `change` alters it (a 409 is raised:
        the key is retried against a fresh cache)."""
        spec = channel.get("spec") or {}
        have = spec.get("subscribers") or []
        want = change(have)
        if want == have:
            return
        new = copy.deepcopy(channel)
        new.setdefault("apiVersion", res.api_version)
        new.setdefault("kind", res.kind)
        new.setdefault("spec", {})["subscribers"] = want
        new.pop("status", None)
        await self.client.update(res, new)


def _with_entry(subs: list, entry: dict[str, Any]) -> list:
    out = [x for x in subs if not (isinstance(x, dict) and x.get("uid") == entry["uid"])]
    out.append(entry)
    out.sort(key=lambda x: str(x.get("uid")) if isinstance(x, dict) else "")
    return out
