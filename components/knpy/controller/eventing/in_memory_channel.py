"""InMemoryChannel reconciler: dead-letter sink, the `<name>-kn-channel` Service (its name
hashed as Knative's kmeta.ChildName when the channel's name is long), data-plane
readiness, address, and the ready state of each of its subscribers.

knpy serves InMemoryChannels from the broker data plane (docs/channels.md): the contract
gets a `channels` entry per channel and a `subscriptions` entry per spec.subscribers item.
The Service is an ExternalName to the broker ingress (as Knative's IMC Service points at
its dispatcher), so the address `http://<name>-kn-channel.<ns>.svc.<domain>` reaches the
ingress with that Host; the channel's contract entry carries the Service name, which is
how the ingress picks the channel. Ready, like a Broker's, waits until every ingress and
dispatcher pod serves the contract generation holding the channel (dataplane.py); each
subscriber is reported ready once its entry is served.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from knpy.apis.eventing.config import EventingConfig
from knpy.apis.messaging.v1 import InMemoryChannel
from knpy.apis.messaging.v1.register import API_VERSION
from knpy.controller.eventing.contract import (
    channel_entry,
    channel_service_name,
    subscription_entries,
)
from knpy.controller.eventing.dataplane import DataPlane
from knpy.controller.eventing.resolver import URIResolver, resolve_dead_letter_sink
from knpy.controller.eventing.resources import IN_MEMORY_CHANNELS
from knpy.runtime.k8s import SERVICES, ApiError, Client, Lister, Reconciler, Recorder

__all__ = ["InMemoryChannelReconciler", "channel_service"]


def channel_service(imc: dict[str, Any], ingress_host: str) -> dict[str, Any]:
    md = imc["metadata"]
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {
            "name": channel_service_name(md["name"]), "namespace": md["namespace"],
            "labels": {"messaging.knative.dev/role": "in-memory-channel",
                       "app.kubernetes.io/part-of": "knpy"},
            "ownerReferences": [{"apiVersion": API_VERSION, "kind": "InMemoryChannel",
                                 "name": md["name"], "uid": md["uid"], "controller": True,
                                 "blockOwnerDeletion": True}]},
        # an ExternalName carries no port: the ingress host must answer on port 80
        "spec": {"type": "ExternalName", "externalName": ingress_host.split(":", 1)[0],
                 "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]},
    }


class InMemoryChannelReconciler(Reconciler[InMemoryChannel]):
    def __init__(self, client: Client, lister: Lister, recorder: Recorder, *,
                 resolver: URIResolver, dataplane: DataPlane,
                 config: Callable[[], EventingConfig],
                 on_reconciled: Callable[[], None] = lambda: None) -> None:
        super().__init__(client, lister, IN_MEMORY_CHANNELS, InMemoryChannel, recorder,
                         name="inmemorychannel")
        self.resolver = resolver
        self.dataplane = dataplane
        self.config = config
        self.on_reconciled = on_reconciled

    async def on_deleted(self, key: str) -> None:
        self.on_reconciled()
        if self.resolver.tracker is not None:
            self.resolver.tracker.forget(key)

    async def reconcile_kind(self, c: InMemoryChannel) -> None:
        cfg = self.config()
        st = c.status
        self.on_reconciled()

        delivery = c.delivery
        await resolve_dead_letter_sink(
            self.resolver, st, delivery.dead_letter_sink if delivery is not None else None,
            c.namespace, c.key, "Unable to get the DeadLetterSink's URI")

        try:
            await self._ensure_service(c.raw, cfg.ingress_host)
            st.mark_service_ready()
        except ApiError as exc:
            st.mark_service_failed("ChannelServiceFailed", str(exc))

        expected = channel_entry(c.raw)
        served = self.dataplane.served_by_all("channels", c.key, expected)
        if served.ok:
            st.mark_dispatcher_ready()
        else:
            st.mark_dispatcher_not_ready(served.reason, served.message)

        host = f"{channel_service_name(c.name)}.{c.namespace}.svc.{cfg.cluster_domain}"
        st.set_address(f"http://{host}")
        st.set_subscribers(self._subscribers(c))

    def _subscribers(self, c: InMemoryChannel) -> list[dict[str, Any]]:
        """Knative's SubscriberStatus per spec.subscribers entry: ready once every broker
        pod serves its contract entry."""
        entries = subscription_entries(c.raw)
        out = []
        for s in c.subscribers:
            item: dict[str, Any] = {"uid": s.uid, "observedGeneration": s.generation}
            expected = entries.get(s.uid)
            if expected is None:
                item.update(ready="False", message="the data plane cannot serve this "
                            "subscriber (see the controller's log)")
            else:
                served = self.dataplane.served_by_all("subscriptions",
                                                      f"{c.namespace}/{s.uid}", expected)
                if served.ok:
                    item["ready"] = "True"
                else:
                    item.update(ready="Unknown", message=served.message)
            out.append(item)
        return out

    async def _ensure_service(self, imc: dict[str, Any], ingress_host: str) -> None:
        want = channel_service(imc, ingress_host)
        md = want["metadata"]
        try:
            have = await self.client.get(SERVICES, md["namespace"], md["name"])
        except ApiError as exc:
            if not exc.not_found:
                raise
            await self.client.create(SERVICES, want)
            return
        if have.get("spec", {}).get("externalName") != want["spec"]["externalName"] or \
                have.get("spec", {}).get("type") != "ExternalName":
            have["spec"] = want["spec"]
            await self.client.update(SERVICES, have)
