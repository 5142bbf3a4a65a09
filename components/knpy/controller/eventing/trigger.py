"""Trigger reconciler: broker, subscriber, dead-letter sink, dependency, Ready.

A trigger may exist before its broker: BrokerReady is False (BrokerDoesNotExist) and the
trigger is re-queued when that broker appears or changes (see main.py's broker->trigger
mapping). Subscriber and DLS refs are resolved through any Addressable's
status.address.url; `uri` is resolved relative to the ref's address. Referenced objects
are tracked (runtime.k8s.Tracker): when one changes, the trigger is re-queued.
"""

from __future__ import annotations

from collections.abc import Callable

from knpy.apis.eventing.config import EventingConfig
from knpy.apis.eventing.v1 import Broker, Trigger
from knpy.controller.eventing.contract import trigger_entry
from knpy.controller.eventing.dataplane import DataPlane
from knpy.controller.eventing.resolver import (
    ResolveError,
    URIResolver,
    resolve_dead_letter_sink,
)
from knpy.controller.eventing.resources import TRIGGERS
from knpy.runtime.k8s import NORMAL, WARNING, Client, Lister, Reconciler, Recorder, SkipKey

__all__ = ["TriggerReconciler"]


class TriggerReconciler(Reconciler[Trigger]):
    def __init__(self, client: Client, lister: Lister, recorder: Recorder, *,
                 brokers: Lister, resolver: URIResolver, dataplane: DataPlane,
                 config: Callable[[], EventingConfig] = EventingConfig,
                 on_reconciled: Callable[[], None] = lambda: None) -> None:
        super().__init__(client, lister, TRIGGERS, Trigger, recorder, name="trigger")
        self.brokers = brokers
        self.resolver = resolver
        self.dataplane = dataplane
        self.config = config
        self.on_reconciled = on_reconciled

    async def on_deleted(self, key: str) -> None:
        if self.resolver.tracker is not None:
            self.resolver.tracker.forget(key)

    async def reconcile_kind(self, t: Trigger) -> None:
        raw_broker = self.brokers.get(t.namespace, t.broker)
        broker = Broker(raw_broker) if raw_broker is not None else None
        if broker is not None and not self.config().handles_class(broker.broker_class):
            raise SkipKey  # another broker implementation owns this trigger
        before = t.status.conditions.get("Ready")
        before = dict(before) if before else None
        st = t.status
        self.on_reconciled()

        # broker
        if broker is None:
            st.mark_broker_failed("BrokerDoesNotExist", f"Broker {t.broker!r} does not exist")
        elif raw_broker is not None and raw_broker["metadata"].get("deletionTimestamp"):
            st.mark_broker_failed("BrokerDeleted", f"Broker {t.broker!r} is being deleted")
        elif broker.status.is_ready():
            st.mark_broker_ready()
        else:
            cond = broker.status.conditions.get("Ready") or {}
            st.mark_broker_not_ready(cond.get("reason") or "BrokerNotReady",
                                     cond.get("message") or f"Broker {t.broker!r} is not "
                                     "ready")

        # subscriber
        sub = t.subscriber
        if sub is None:
            st.mark_subscriber_failed("NoSubscriber", "spec.subscriber is not set")
        else:
            try:
                st.mark_subscriber_resolved(await self.resolver.uri(sub, t.namespace, t.key))
            except ResolveError as exc:
                st.mark_subscriber_failed("Unable to get the Subscriber's URI", exc.message)

        # dead-letter sink: the trigger's own, else the broker's
        dls = t.delivery.dead_letter_sink if t.delivery is not None else None
        if dls is None and broker is not None and broker.delivery is not None:
            dls = broker.delivery.dead_letter_sink
        await resolve_dead_letter_sink(self.resolver, st, dls, t.namespace, t.key,
                                       "Unable to get the dead letter sink's URI")

        # dependency (knative.dev/dependency annotation, e.g. a source)
        dep = t.dependency
        if dep is None:
            st.mark_dependency_ready()
        else:
            try:
                await self.resolver.track(dep, t.namespace, t.key)
                obj = await self.resolver.get(dep, t.namespace)
            except ResolveError as exc:
                st.mark_dependency_failed("DependencyDoesNotExist", exc.message)
            else:
                ready = next((c for c in (obj.get("status") or {}).get("conditions") or []
                              if c.get("type") == "Ready"), None)
                if ready is None or ready.get("status") == "Unknown":
                    st.mark_dependency_not_ready("DependencyNotReady",
                                                 f"{dep.kind} {dep.name!r} is not ready yet")
                elif ready.get("status") == "True":
                    st.mark_dependency_ready()
                else:
                    st.mark_dependency_failed(ready.get("reason") or "DependencyFailed",
                                              ready.get("message") or "")

        # subscription: every ingress and dispatcher pod serves this trigger's entry (the
        # ingress creates its consumer before storing events, the dispatcher delivers)
        expected = trigger_entry(t.raw, {f"{t.namespace}/{t.broker}"})
        served = self.dataplane.served_by_all("triggers", t.key, expected)
        if served.ok:
            st.mark_subscription_ready()
        else:
            st.mark_subscription_not_ready(served.reason, served.message)
        await self._announce(t, before)

    async def _announce(self, t: Trigger, before: dict | None) -> None:
        now = t.status.conditions.get("Ready") or {}
        if before is not None and before.get("status") == now.get("status") and \
                before.get("reason") == now.get("reason"):
            return
        if now.get("status") == "True":
            await self.recorder.event(t.raw, NORMAL, "TriggerReady",
                                      f"Trigger {t.name!r} delivers to "
                                      f"{t.status.subscriber_uri}")
        elif now.get("status") == "False":
            await self.recorder.event(t.raw, WARNING, now.get("reason") or "TriggerNotReady",
                                      now.get("message", ""))
