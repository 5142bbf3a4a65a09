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
from knpy.apis.messaging.v1 import InMemoryChannel
from knpy.runtime import eventfilter
from knpy.runtime.config import FieldError
from knpy.runtime.contract import eventing as contract_schema
from knpy.runtime.contract.eventing import (
    CHANNEL_SERVICE_SUFFIX,
    CONTRACT_KEY,
    GENERATION_ANNOTATION,
)
from knpy.runtime.k8s import CONFIGMAPS, ApiError, Client, Lister
from knpy.runtime.k8s.naming import child_name

__all__ = ["CONTRACT_KEY", "GENERATIONS_KEY", "ContractReconciler", "broker_entry",
           "channel_entry", "channel_service_name", "contract_generation", "entry_generation",
           "make_contract", "subscription_entries", "trigger_entry"]

log = logging.getLogger("knpy.controller.contract")

GENERATIONS_KEY = "generations.json"  # entry -> the generation it last changed in
KINDS = ("brokers", "triggers", "channels", "subscriptions")
_DELIVERY_FIELDS = ("retry", "backoffPolicy", "backoffDelay", "timeout", "retryAfterMax",
                    "format")


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


def broker_entry(raw: dict, cfg: EventingConfig) -> dict[str, Any] | None:
    """A broker's contract entry, or None if the contract leaves it out."""
    if not cfg.handles_class(Broker(raw).broker_class):
        return None
    return _log_entry("brokers", raw)


def _log_entry(kind: str, raw: dict) -> dict[str, Any] | None:
    """A broker's or channel's entry: its name and delivery, with the resolved DLS."""
    if raw["metadata"].get("deletionTimestamp"):
        return None
    md = raw["metadata"]
    entry: dict[str, Any] = {"namespace": md.get("namespace", ""), "name": md["name"]}
    if kind == "channels":
        entry["service"] = channel_service_name(md["name"])
    d = _delivery((raw.get("spec") or {}).get("delivery"),
                  (raw.get("status") or {}).get("deadLetterSinkUri"))
    if d:
        entry["delivery"] = d
    return entry if _valid(kind, entry) else None


def trigger_entry(raw: dict, broker_keys: set[str]) -> dict[str, Any] | None:
    """A trigger's contract entry, or None: its broker is out of the contract, or its
    subscriber is unresolved. Any resolved URI stays in, even one no sender can reach
    (`bad://uri`): every delivery then fails and dead-letters, as Knative's do."""
    t = Trigger(raw)
    status = raw.get("status") or {}
    sub = status.get("subscriberUri")
    if raw["metadata"].get("deletionTimestamp") or not sub \
            or f"{t.namespace}/{t.broker}" not in broker_keys:
        return None
    entry: dict[str, Any] = {"namespace": t.namespace, "name": t.name, "broker": t.broker,
                             "subscriber": {"uri": sub}}
    if t.filter_attributes:
        entry["filter"] = {"attributes": dict(t.filter_attributes)}
    if t.filters:
        entry["filters"] = t.filters
    d = _delivery(t.spec_raw.get("delivery"), status.get("deadLetterSinkUri"))
    if d:
        entry["delivery"] = d
    bad = eventfilter.validate(entry.get("filter", {}).get("attributes"), entry.get("filters"))
    if bad:
        # the data plane would not serve it (the webhook rejects these; without it, the
        # trigger is left out, so it never turns Ready for a filter nobody applies)
        log.warning("trigger %s/%s left out of the contract: invalid filter at %s: %s",
                    t.namespace, t.name, bad[0].field, bad[0].message)
        return None
    return entry if _valid("triggers", entry) else None


def channel_service_name(name: str) -> str:
    """The channel's Service, Knative's name for it (kmeta.ChildName): its address's Host
    is `<this>.<ns>.svc.<domain>`, and the ingress finds the channel by it."""
    return child_name(name, CHANNEL_SERVICE_SUFFIX)


def channel_entry(raw: dict) -> dict[str, Any] | None:
    """An InMemoryChannel's contract entry (a channel: one log, the ingress's Host route)."""
    return _log_entry("channels", raw)


def subscription_entries(raw: dict) -> dict[str, dict[str, Any]]:
    """uid -> contract entry of each of a channel's spec.subscribers (written by the
    Subscriptions with their URIs resolved); entries the data plane would reject are left
    out (their Subscription then never turns Ready)."""
    c = InMemoryChannel(raw)
    if raw["metadata"].get("deletionTimestamp") or channel_entry(raw) is None:
        return {}
    out: dict[str, dict[str, Any]] = {}
    for s in c.subscribers:
        entry: dict[str, Any] = {"namespace": c.namespace, "name": s.uid, "channel": c.name}
        if s.subscriber_uri:
            entry["subscriber"] = {"uri": s.subscriber_uri}
        if s.reply_uri:
            entry["reply"] = {"uri": s.reply_uri}
        sd = s.raw.get("delivery")
        dls = ((sd or {}).get("deadLetterSink") or {}).get("uri") if isinstance(sd, dict) \
            else None
        d = _delivery(sd, dls)
        if d:
            entry["delivery"] = d
        if s.uid and _valid("subscriptions", entry):
            out[s.uid] = entry
    return out


def _by_name(objs: list[dict]) -> list[dict]:
    return sorted(objs, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))


def make_contract(brokers: list[dict], triggers: list[dict], cfg: EventingConfig,
                  channels: list[dict] | None = None) -> dict[str, Any]:
    """The contract document: every live broker of a handled class, and every trigger of
    such a broker whose subscriber is resolved; every InMemoryChannel and its subscribers.
    Sorted, so equal inputs give equal bytes."""
    out_b = [e for e in (broker_entry(raw, cfg) for raw in _by_name(brokers)) if e]
    keys = {f"{e['namespace']}/{e['name']}" for e in out_b}
    out_t = [e for e in (trigger_entry(raw, keys) for raw in _by_name(triggers)) if e]
    doc: dict[str, Any] = {"brokers": out_b, "triggers": out_t}
    chans = _by_name(channels or [])
    if chans:
        doc["channels"] = [e for e in (channel_entry(raw) for raw in chans) if e]
        doc["subscriptions"] = [e for raw in chans
                                for _uid, e in sorted(subscription_entries(raw).items())]
    return doc


def render(doc: dict[str, Any]) -> str:
    # JSON is valid YAML; sorted keys make the bytes stable, so "changed?" is a string compare.
    return json.dumps(doc, sort_keys=True, indent=1) + "\n"


def _entries(text: str | None) -> dict[str, dict]:
    try:
        doc = json.loads(text or "{}")
        return {f"{kind}/{e['namespace']}/{e['name']}": e
                for kind in KINDS for e in doc.get(kind) or []}
    except (ValueError, KeyError, TypeError, AttributeError):
        return {}


def _generations(cm: dict | None) -> dict[str, int]:
    try:
        gens = json.loads(((cm or {}).get("data") or {}).get(GENERATIONS_KEY) or "{}")
        return {k: int(v) for k, v in gens.items()}
    except (ValueError, TypeError, AttributeError):
        return {}


def contract_generation(cm: dict | None) -> int:
    ann = ((cm or {}).get("metadata") or {}).get("annotations") or {}
    try:
        return int(ann.get(GENERATION_ANNOTATION) or 0)
    except ValueError:
        return 0


def entry_generation(cm: dict | None, kind: str, key: str, expected: dict | None
                     ) -> int | None:
    """The contract generation since which the ConfigMap holds `expected` as the entry of
    `key` ("namespace/name"), or None if it holds something else or nothing."""
    if not cm or expected is None:
        return None
    k = f"{kind}/{key}"
    if _entries((cm.get("data") or {}).get(CONTRACT_KEY)).get(k) != expected:
        return None
    return _generations(cm).get(k, contract_generation(cm))


def next_generations(old_cm: dict | None, doc: dict[str, Any], gen: int) -> dict[str, int]:
    """Per entry, the generation it last changed in: unchanged entries keep theirs, so a
    new trigger never sends the others back to waiting for the data plane."""
    old = _entries(((old_cm or {}).get("data") or {}).get(CONTRACT_KEY))
    old_gens, old_gen = _generations(old_cm), contract_generation(old_cm)
    return {k: (old_gens.get(k, old_gen) if old.get(k) == e else gen)
            for k, e in sorted(_entries(json.dumps(doc)).items())}


def _render_gens(gens: dict[str, int]) -> str:
    return json.dumps(gens, sort_keys=True, separators=(",", ":"))


class ContractReconciler:
    """Rebuilds the document from the listers and writes the ConfigMap if it changed."""

    name = "contract"

    def __init__(self, client: Client, brokers: Lister, triggers: Lister,
                 configmaps: Lister, namespace: str, configmap_name: str, config,
                 channels: Lister | None = None) -> None:
        self.client = client
        self.channels = channels  # InMemoryChannels (None: messaging is off)
        self.brokers, self.triggers, self.configmaps = brokers, triggers, configmaps
        self.namespace, self.configmap_name = namespace, configmap_name
        self.config = config  # () -> EventingConfig
        self.is_leader = True

    async def reconcile(self, key: str) -> None:
        if not self.is_leader:
            return
        doc = make_contract(self.brokers.list(), self.triggers.list(), self.config(),
                            self.channels.list() if self.channels is not None else None)
        text = render(doc)
        cm = self.configmaps.get(self.namespace, self.configmap_name)
        if cm is None:
            body = {"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": self.configmap_name, "namespace": self.namespace,
                                 "labels": {"app.kubernetes.io/part-of": "knpy"},
                                 "annotations": {GENERATION_ANNOTATION: "1"}},
                    "data": {CONTRACT_KEY: text,
                             GENERATIONS_KEY: _render_gens(next_generations(None, doc, 1))}}
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
        gen = contract_generation(cm) + 1
        ann[GENERATION_ANNOTATION] = str(gen)
        gens = next_generations(cm, doc, gen)
        new["data"] = {**(new.get("data") or {}), CONTRACT_KEY: text,
                       GENERATIONS_KEY: _render_gens(gens)}
        await self.client.update(CONFIGMAPS, new)  # a 409 is retried from the fresh cache
        log.info("contract updated (generation %s): %d broker(s), %d trigger(s)",
                 ann[GENERATION_ANNOTATION], len(doc["brokers"]), len(doc["triggers"]))
