"""The broker data-plane contract, built from Brokers and Triggers, written to one ConfigMap.

Following eventing-kafka-broker: the controller owns one document and writes it into a
ConfigMap that the broker pods mount; the data plane only watches that file. knpy uses ONE
global ConfigMap in the system namespace (default `knpy-system/knpy-broker-contract`, key
`contract.yaml`), because the broker data plane is shared by every namespace (one ingress
host serving `/<namespace>/<broker>`). The document's schema is
`knpy.runtime.contract.eventing`; every entry is checked with its parser before it is
written, so the data plane never receives a document it would reject.

`make_contract` is pure (a `resources/`-style builder); `ContractReconciler` is the single
writer (key "contract"), so concurrent Broker/Trigger reconciles never race on the map.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from knpy.apis.eventing.config import EventingConfig
from knpy.apis.eventing.v1 import Broker, Trigger
from knpy.runtime.config import FieldError
from knpy.runtime.contract import eventing as contract_schema
from knpy.runtime.k8s import CONFIGMAPS, ApiError, Client, Lister

__all__ = ["CONTRACT_KEY", "ContractReconciler", "brokers_in", "make_contract"]

log = logging.getLogger("knpy.controller.contract")

CONTRACT_KEY = "contract.yaml"
GENERATION_ANNOTATION = "eventing.knpy.dev/contract-generation"
_DELIVERY_FIELDS = ("retry", "backoffPolicy", "backoffDelay", "timeout", "retryAfterMax")


def _delivery(spec_delivery: Any, dls_uri: str | None) -> dict[str, Any] | None:
    if not isinstance(spec_delivery, dict):
        return None
    out = {k: spec_delivery[k] for k in _DELIVERY_FIELDS if spec_delivery.get(k) is not None}
    if spec_delivery.get("deadLetterSink") is not None and dls_uri:
        out["deadLetterSink"] = {"uri": dls_uri}
    return out or None


def _valid(kind: str, entry: dict[str, Any]) -> bool:
    try:
        contract_schema.parse({kind: [entry]})
    except FieldError as exc:
        log.warning("%s %s/%s left out of the contract: %s", kind[:-1], entry.get("namespace"),
                    entry.get("name"), exc)
        return False
    return True


def make_contract(brokers: list[dict], triggers: list[dict], cfg: EventingConfig
                  ) -> dict[str, Any]:
    """The contract document: every live broker of a handled class, and every trigger of
    such a broker whose subscriber is resolved. Sorted, so equal inputs give equal bytes."""
    out_b: list[dict[str, Any]] = []
    keys: set[str] = set()
    for raw in sorted(brokers, key=lambda o: (o["metadata"].get("namespace", ""),
                                              o["metadata"]["name"])):
        b = Broker(raw)
        if raw["metadata"].get("deletionTimestamp") or not cfg.handles_class(b.broker_class):
            continue
        entry: dict[str, Any] = {"namespace": b.namespace, "name": b.name}
        d = _delivery(b.spec_raw.get("delivery"), (raw.get("status") or {}).get(
            "deadLetterSinkUri"))
        if d:
            entry["delivery"] = d
        if _valid("brokers", entry):
            out_b.append(entry)
            keys.add(b.key)
    out_t: list[dict[str, Any]] = []
    for raw in sorted(triggers, key=lambda o: (o["metadata"].get("namespace", ""),
                                               o["metadata"]["name"])):
        t = Trigger(raw)
        status = raw.get("status") or {}
        sub = status.get("subscriberUri")
        if raw["metadata"].get("deletionTimestamp") or not sub \
                or f"{t.namespace}/{t.broker}" not in keys:
            continue
        entry = {"namespace": t.namespace, "name": t.name, "broker": t.broker,
                 "subscriber": {"uri": sub}}
        if t.filter_attributes:
            entry["filter"] = {"attributes": dict(t.filter_attributes)}
        if t.filters:
            entry["filters"] = t.filters
        d = _delivery(t.spec_raw.get("delivery"), status.get("deadLetterSinkUri"))
        if d:
            entry["delivery"] = d
        if _valid("triggers", entry):
            out_t.append(entry)
    return {"brokers": out_b, "triggers": out_t}


def render(doc: dict[str, Any]) -> str:
    # JSON is valid YAML; sorted keys make the bytes stable, so "changed?" is a string compare.
    return json.dumps(doc, sort_keys=True, indent=1) + "\n"


def brokers_in(cm: dict | None) -> set[str]:
    """namespace/name of every broker in a contract ConfigMap (empty if absent or bad)."""
    if not cm:
        return set()
    try:
        doc = json.loads((cm.get("data") or {}).get(CONTRACT_KEY) or "{}")
        return {f"{b['namespace']}/{b['name']}" for b in doc.get("brokers") or []}
    except (ValueError, KeyError, TypeError):
        return set()


class ContractReconciler:
    """Rebuilds the document from the listers and writes the ConfigMap if it changed."""

    name = "contract"

    def __init__(self, client: Client, brokers: Lister, triggers: Lister,
                 configmaps: Lister, namespace: str, configmap_name: str, config) -> None:
        self.client = client
        self.brokers, self.triggers, self.configmaps = brokers, triggers, configmaps
        self.namespace, self.configmap_name = namespace, configmap_name
        self.config = config  # () -> EventingConfig
        self.is_leader = True

    async def reconcile(self, key: str) -> None:
        if not self.is_leader:
            return
        doc = make_contract(self.brokers.list(), self.triggers.list(), self.config())
        text = render(doc)
        cm = self.configmaps.get(self.namespace, self.configmap_name)
        if cm is None:
            body = {"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": self.configmap_name, "namespace": self.namespace,
                                 "labels": {"app.kubernetes.io/part-of": "knpy"},
                                 "annotations": {GENERATION_ANNOTATION: "1"}},
                    "data": {CONTRACT_KEY: text}}
            try:
                await self.client.create(CONFIGMAPS, body)
            except ApiError as exc:
                if not exc.already_exists:
                    raise
                raise RuntimeError("contract ConfigMap appeared meanwhile; retrying") from exc
            log.info("contract created: %d broker(s), %d trigger(s)", len(doc["brokers"]),
                     len(doc["triggers"]))
            return
        if (cm.get("data") or {}).get(CONTRACT_KEY) == text:
            return
        new = json.loads(json.dumps(cm))
        ann = new["metadata"].setdefault("annotations", {}) or {}
        new["metadata"]["annotations"] = ann
        ann[GENERATION_ANNOTATION] = str(int(ann.get(GENERATION_ANNOTATION, "0") or 0) + 1)
        new["data"] = {**(new.get("data") or {}), CONTRACT_KEY: text}
        await self.client.update(CONFIGMAPS, new)  # a 409 is retried from the fresh cache
        log.info("contract updated (generation %s): %d broker(s), %d trigger(s)",
                 ann[GENERATION_ANNOTATION], len(doc["brokers"]), len(doc["triggers"]))
