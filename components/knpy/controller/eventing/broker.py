"""Broker reconciler: address, dead-letter sink, data-plane readiness, Ready.

Phases (each idempotent, level-triggered):
1. class filter: brokers of classes this controller does not handle are skipped;
2. dead-letter sink: resolve spec.delivery.deadLetterSink -> status.deadLetterSinkUri;
3. data plane: IngressReady / FilterReady once the contract holds the broker's current entry
   and, when the ingress / dispatcher Deployments are configured, they are Available and
   every ready pod of theirs serves that contract generation (dataplane.py);
4. address: status.address.url = http://<ingress-host>/<namespace>/<name>.
"""

from __future__ import annotations

from collections.abc import Callable

from knpy.apis.eventing.config import EventingConfig
from knpy.apis.eventing.v1 import Broker
from knpy.controller.eventing.contract import broker_entry
from knpy.controller.eventing.dataplane import DataPlane
from knpy.controller.eventing.resolver import URIResolver, resolve_dead_letter_sink
from knpy.controller.eventing.resources import BROKERS
from knpy.runtime.k8s import NORMAL, WARNING, Client, Lister, Reconciler, Recorder, SkipKey

__all__ = ["BrokerReconciler", "broker_address"]


def broker_address(cfg: EventingConfig, namespace: str, name: str) -> str:
    return f"http://{cfg.ingress_host}/{namespace}/{name}"


class BrokerReconciler(Reconciler[Broker]):
    def __init__(self, client: Client, lister: Lister, recorder: Recorder, *,
                 resolver: URIResolver, dataplane: DataPlane,
                 config: Callable[[], EventingConfig],
                 on_reconciled: Callable[[], None] = lambda: None) -> None:
        super().__init__(client, lister, BROKERS, Broker, recorder, name="broker")
        self.resolver = resolver
        self.dataplane = dataplane
        self.config = config
        self.on_reconciled = on_reconciled

    async def on_deleted(self, key: str) -> None:
        if self.resolver.tracker is not None:
            self.resolver.tracker.forget(key)

    async def reconcile_kind(self, b: Broker) -> None:
        cfg = self.config()
        if not cfg.handles_class(b.broker_class):
            raise SkipKey
        was_ready = b.status.conditions.get("Ready")
        was_ready = dict(was_ready) if was_ready else None
        st = b.status
        self.on_reconciled()  # the contract follows every broker change

        # 2. dead-letter sink
        delivery = b.delivery
        await resolve_dead_letter_sink(
            self.resolver, st, delivery.dead_letter_sink if delivery is not None else None,
            b.namespace, b.key, "Unable to get the DeadLetterSink's URI")

        # 3. data plane
        expected = broker_entry(b.raw, cfg)
        for (_role, dep_name), ready, not_ready in zip(
                self.dataplane.roles(), (st.mark_ingress_ready, st.mark_filter_ready),
                (st.mark_ingress_not_ready, st.mark_filter_not_ready), strict=True):
            served = self.dataplane.serves("brokers", b.key, expected, dep_name)
            if served.ok:
                ready()
            else:
                not_ready(served.reason, served.message)

        # 4. address
        st.set_address(broker_address(cfg, b.namespace, b.name))
        await self._announce(b, was_ready)

    async def _announce(self, b: Broker, before: dict | None) -> None:
        now = b.status.conditions.get("Ready") or {}
        if before is not None and before.get("status") == now.get("status") and \
                before.get("reason") == now.get("reason"):
            return
        if now.get("status") == "True":
            await self.recorder.event(b.raw, NORMAL, "BrokerReady",
                                      f"Broker {b.name!r} is ready at "
                                      f"{b.status.address_url}")
        elif now.get("status") == "False":
            await self.recorder.event(b.raw, WARNING, now.get("reason") or "BrokerNotReady",
                                      now.get("message", ""))
