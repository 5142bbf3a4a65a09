"""Broker reconciler: address, dead-letter sink, data-plane readiness, Ready.

Phases (each idempotent, level-triggered):
1. class filter: brokers of classes this controller does not handle are skipped;
2. dead-letter sink: resolve spec.delivery.deadLetterSink -> status.deadLetterSinkUri;
3. data plane: IngressReady / FilterReady once the contract ConfigMap lists the broker (and,
   when configured, the ingress / dispatcher Deployments are available);
4. address: status.address.url = http://<ingress-host>/<namespace>/<name>.
"""

from __future__ import annotations

from collections.abc import Callable

from knpy.apis.eventing.config import EventingConfig
from knpy.apis.eventing.v1 import Broker
from knpy.controller.eventing.contract import brokers_in
from knpy.controller.eventing.resolver import ResolveError, URIResolver
from knpy.controller.eventing.resources import BROKERS
from knpy.runtime.k8s import NORMAL, WARNING, Client, Lister, Reconciler, Recorder, SkipKey

__all__ = ["BrokerReconciler", "broker_address"]


def broker_address(cfg: EventingConfig, namespace: str, name: str) -> str:
    return f"http://{cfg.ingress_host}/{namespace}/{name}"


def _deployment_available(d: dict | None) -> tuple[bool, str]:
    if d is None:
        return False, "deployment not found"
    for c in (d.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Available":
            return c.get("status") == "True", c.get("message", "")
    return False, "no Available condition yet"


class BrokerReconciler(Reconciler[Broker]):
    def __init__(self, client: Client, lister: Lister, recorder: Recorder, *,
                 resolver: URIResolver, configmaps: Lister, deployments: Lister | None,
                 system_namespace: str, contract_name: str,
                 config: Callable[[], EventingConfig],
                 on_reconciled: Callable[[], None] = lambda: None) -> None:
        super().__init__(client, lister, BROKERS, Broker, recorder, name="broker")
        self.resolver = resolver
        self.configmaps = configmaps
        self.deployments = deployments
        self.system_namespace = system_namespace
        self.contract_name = contract_name
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
        dls = delivery.dead_letter_sink if delivery is not None else None
        if dls is None:
            st.mark_dead_letter_sink_not_configured()
        else:
            try:
                uri = await self.resolver.uri(dls, b.namespace, b.key)
                st.mark_dead_letter_sink_resolved(uri)
            except ResolveError as exc:
                st.mark_dead_letter_sink_failed(
                    "Unable to get the DeadLetterSink's URI", exc.message)

        # 3. data plane
        in_contract = b.key in brokers_in(
            self.configmaps.get(self.system_namespace, self.contract_name))
        for dep_name, ready, not_ready in (
                (cfg.ingress_deployment, st.mark_ingress_ready, st.mark_ingress_not_ready),
                (cfg.dispatcher_deployment, st.mark_filter_ready, st.mark_filter_not_ready)):
            if not in_contract:
                not_ready("ContractPending", "the broker is not in the data-plane contract yet")
                continue
            if dep_name and self.deployments is not None:
                ok, msg = _deployment_available(self.deployments.get(self.system_namespace,
                                                                     dep_name))
                if not ok:
                    not_ready("DeploymentUnavailable", f"{dep_name}: {msg}")
                    continue
            ready()

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
