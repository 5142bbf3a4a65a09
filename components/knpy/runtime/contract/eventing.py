"""The brokers+triggers contract: what the broker data plane needs to know, nothing more.

One document, written by hand for standalone mode (a YAML file) and by the controller in
cluster mode (a ConfigMap key holding the same YAML/JSON, mounted as a file). Field names
mirror Knative's `eventing.knative.dev/v1` Broker/Trigger specs; references are already
resolved to URIs. Parsing is pure and reports every problem as a field-pathed FieldError:

    brokers:
      - namespace: default
        name: default
        delivery:                       # optional; absent -> retry 10, exponential, PT0.2S
          retry: 3
          backoffPolicy: exponential    # or linear
          backoffDelay: PT0.2S          # ISO-8601
          timeout: PT10S                # per-request delivery timeout
          retryAfterMax: PT30S          # cap on honoured Retry-After
          deadLetterSink: {uri: http://127.0.0.1:9000/dls}
    triggers:
      - namespace: default
        name: orders
        broker: default
        filter: {attributes: {type: com.example.order}}
        filters: [{prefix: {source: /shop}}]   # non-empty overrides `filter`
        subscriber: {uri: http://127.0.0.1:9001/}
        delivery: {...}                         # if set, replaces the broker's wholesale
        concurrency: 64                         # knpy: max in-flight deliveries (optional)
        ordering: partitionkey                  # knpy: in order per `partitionkey` extension
    channels:                                   # messaging.knative.dev InMemoryChannels
      - namespace: default
        name: events
        service: events-kn-channel              # its Service: the Host it is addressed by
        delivery: {...}                         # optional; absent -> no retries
    subscriptions:                              # one per entry of a channel's spec.subscribers
      - namespace: default
        name: 5c2b...                           # the Subscription's uid
        channel: events
        subscriber: {uri: http://127.0.0.1:9001/}   # optional if `reply` is set
        reply: {uri: http://127.0.0.1:9002/}    # optional: where the subscriber's reply goes
        delivery: {...}                         # if set, replaces the channel's wholesale

A channel is served as a broker whose subscriptions are triggers that match every event:
one store log per channel, one durable cursor per subscription, the same dispatcher. Their
keys carry their kind (`channel/<ns>/<name>`, `subscription/<ns>/<name>`) so a channel and
a broker (or a subscription and a trigger) of the same name never share a log or a cursor.
A channel is addressed by Host `<service>.<namespace>[...]`; the controller writes the name
of the Service it made (Knative's kmeta.ChildName, hashed when the channel's name is long,
always ending in `-kn-channel`); a hand-written entry without one gets `<name>-kn-channel`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, cast
from urllib.parse import urlsplit

import yaml

from knpy.runtime.config import FieldError, parse_iso8601_duration

__all__ = [
    "BROKER",
    "CHANNEL",
    "CHANNEL_SERVICE_SUFFIX",
    "CONTRACT_KEY",
    "DEFAULT_DELIVERY",
    "GENERATION_ANNOTATION",
    "SOURCE_ANNOTATION",
    "SUBSCRIPTION",
    "TRIGGER",
    "BrokerSpec",
    "DeliverySpec",
    "EffectiveDelivery",
    "EventingContract",
    "TriggerSpec",
    "effective_delivery",
    "loads",
    "parse",
]

CONTRACT_KEY = "contract.yaml"  # the contract ConfigMap's key holding the document
# On the contract ConfigMap: how many times the controller wrote it. On a broker pod: the
# generation that pod serves (it writes it once applied), which readiness waits for.
GENERATION_ANNOTATION = "eventing.knpy.dev/contract-generation"
# On a broker pod: the uid of the ConfigMap that generation came from (a re-created map
# starts counting again, so a generation alone could claim what the pod never saw).
SOURCE_ANNOTATION = "eventing.knpy.dev/contract-uid"
BACKOFF_POLICIES = ("exponential", "linear")
FORMATS = ("json", "binary")  # delivery.format: structured or binary content mode
ORDERINGS = ("unordered", "partitionkey")
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


@dataclass(frozen=True, slots=True)
class DeliverySpec:
    """Knative's DeliverySpec; None means "not set" (durations in seconds)."""

    retry: int | None = None
    backoff_policy: str | None = None
    backoff_delay: float | None = None
    dead_letter_sink: str | None = None
    timeout: float | None = None
    retry_after_max: float | None = None
    format: str | None = None  # "json" (structured) or "binary"; None: binary

    def is_set(self) -> bool:
        return any(v is not None for v in (self.retry, self.backoff_policy, self.backoff_delay,
                                           self.dead_letter_sink, self.timeout,
                                           self.retry_after_max, self.format))


# A broker without a delivery spec gets Knative's defaults (config-br-defaults).
DEFAULT_DELIVERY = DeliverySpec(retry=10, backoff_policy="exponential", backoff_delay=0.2)


BROKER, CHANNEL = "broker", "channel"
CHANNEL_SERVICE_SUFFIX = "-kn-channel"  # Knative's channel Service: <name>-kn-channel
TRIGGER, SUBSCRIPTION = "trigger", "subscription"


def _key(kind: str, namespace: str, name: str) -> str:
    """Brokers and triggers keep their historic `ns/name` keys (their JetStream streams
    and consumers are named after them); channels and subscriptions are prefixed."""
    return f"{namespace}/{name}" if kind in (BROKER, TRIGGER) else f"{kind}/{namespace}/{name}"


@dataclass(frozen=True, slots=True)
class BrokerSpec:
    """A broker, or a channel (kind CHANNEL): an ingress address and one log."""

    namespace: str
    name: str
    delivery: DeliverySpec = DEFAULT_DELIVERY
    kind: str = BROKER
    service: str = ""  # a channel's Service name (its Host's first label); brokers: ""

    @property
    def key(self) -> str:
        return _key(self.kind, self.namespace, self.name)


@dataclass(frozen=True, slots=True)
class TriggerSpec:
    namespace: str
    name: str
    broker: str
    subscriber: str
    filter_attributes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    filters: tuple[Mapping[str, Any], ...] = ()
    delivery: DeliverySpec = DeliverySpec()
    concurrency: int | None = None
    ordering: str = "unordered"
    kind: str = TRIGGER  # SUBSCRIPTION: `broker` names a channel
    reply: str | None = None  # subscriptions: where a subscriber's reply is sent

    @property
    def key(self) -> str:
        return _key(self.kind, self.namespace, self.name)

    @property
    def broker_key(self) -> str:
        return _key(CHANNEL if self.kind == SUBSCRIPTION else BROKER, self.namespace,
                    self.broker)


@dataclass(frozen=True, slots=True)
class EventingContract:
    brokers: tuple[BrokerSpec, ...] = ()
    triggers: tuple[TriggerSpec, ...] = ()

    def broker(self, key: str) -> BrokerSpec | None:
        for b in self.brokers:
            if b.key == key:
                return b
        return None

    def triggers_of(self, broker_key: str) -> tuple[TriggerSpec, ...]:
        return tuple(t for t in self.triggers if t.broker_key == broker_key)


@dataclass(frozen=True, slots=True)
class EffectiveDelivery:
    """The delivery rules one trigger's dispatcher applies (all resolved, seconds)."""

    retry: int
    backoff_policy: str
    backoff_delay: float
    dead_letter_sink: str | None
    timeout: float | None
    retry_after_max: float | None
    format: str | None = None

    @property
    def attempts(self) -> int:
        return 1 + self.retry


def effective_delivery(broker: BrokerSpec, trigger: TriggerSpec) -> EffectiveDelivery:
    """A trigger that sets any delivery field replaces the broker's spec wholesale (not
    merged); only the dead-letter sink falls back to the broker's. Unset fields: retry 0,
    exponential, PT0.2S; timeout/retryAfterMax None (the process defaults apply)."""
    d = trigger.delivery if trigger.delivery.is_set() else broker.delivery
    dls = d.dead_letter_sink or broker.delivery.dead_letter_sink
    return EffectiveDelivery(
        retry=d.retry if d.retry is not None else 0,
        backoff_policy=d.backoff_policy or "exponential",
        backoff_delay=d.backoff_delay if d.backoff_delay is not None else 0.2,
        dead_letter_sink=dls,
        timeout=d.timeout,
        retry_after_max=d.retry_after_max,
        format=d.format,
    )


# ------------------------------------------------------------------ parsing

def loads(text: str) -> EventingContract:
    """Parse the YAML (or JSON) text of a contract document."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise FieldError(f"not valid YAML: {e}") from None
    return parse(doc if doc is not None else {})


def parse(doc: Any) -> EventingContract:
    """Validate a decoded document; raises one FieldError listing every problem."""
    if not isinstance(doc, Mapping):
        raise FieldError("the contract must be a mapping with `brokers` and `triggers`")
    errs = FieldError.none()
    brokers: list[BrokerSpec] = []
    triggers: list[TriggerSpec] = []
    for fname, items, parser, out in (
            ("brokers", doc.get("brokers"), _broker, brokers),
            ("triggers", doc.get("triggers"), _trigger, triggers),
            ("channels", doc.get("channels"), _channel, brokers),
            ("subscriptions", doc.get("subscriptions"), _subscription, triggers)):
        if items is None:
            continue
        if not isinstance(items, Sequence) or isinstance(items, str):
            errs = errs.also(FieldError.invalid(items, fname, "want a list"))
            continue
        seen: set[str] = set()
        for i, item in enumerate(items):
            try:
                spec = parser(item)
            except FieldError as e:
                errs = errs.also(e.via_index(i).via_field(fname))
                continue
            if spec.key in seen:
                errs = errs.also(FieldError.invalid(spec.key, "name", "duplicate")
                                 .via_index(i).via_field(fname))
            seen.add(spec.key)
            cast("list[BrokerSpec | TriggerSpec]", out).append(spec)
    unknown = set(doc) - {"brokers", "triggers", "channels", "subscriptions"}
    for k in sorted(unknown):
        errs = errs.also(FieldError("unknown field", str(k)))
    if errs:
        raise errs
    return EventingContract(tuple(brokers), tuple(triggers))


def _mapping(obj: Any, what: str = "") -> Mapping[str, Any]:
    if not isinstance(obj, Mapping):
        raise FieldError.invalid(obj, what, "want a mapping")
    return obj


def _name(obj: Mapping[str, Any], key: str) -> str:
    v = obj.get(key)
    if v is None or v == "":
        raise FieldError.missing(key)
    if not isinstance(v, str) or not _NAME.match(v) or len(v) > 253:
        raise FieldError.invalid(v, key, "want a lower-case DNS name")
    return v


def _service(obj: Mapping[str, Any], key: str) -> str:
    """A channel's Service: Knative's (kmeta.ChildName keeps the suffix), which is what
    lets the ingress tell a channel's Host from a broker's at a glance."""
    v = obj.get(key)
    if not isinstance(v, str) or not _LABEL.match(v) or not v.endswith(CHANNEL_SERVICE_SUFFIX):
        raise FieldError.invalid(v, key, f"want a DNS label (63 characters at most) ending "
                                 f"in {CHANNEL_SERVICE_SUFFIX}")
    return v


def _uri(value: Any, fname: str, *, any_scheme: bool = False) -> str:
    """A resolved Destination: either a URI string or {uri: ...}. A subscriber may have any
    scheme (Knative keeps `bad://uri`: its deliveries fail and dead-letter)."""
    if isinstance(value, Mapping):
        if "ref" in value and "uri" not in value:
            raise FieldError.invalid("ref", fname, "refs must be resolved to a uri in the "
                                     "contract")
        value = value.get("uri")
        fname = f"{fname}.uri"
    if not isinstance(value, str) or not value:
        raise FieldError.missing(fname)
    parts = urlsplit(value)
    if any_scheme and parts.scheme and parts.netloc:
        return value
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise FieldError.invalid(value, fname, "want an absolute http(s) URI")
    return value


def _duration(d: Mapping[str, Any], key: str) -> float | None:
    v = d.get(key)
    if v is None:
        return None
    try:
        secs = parse_iso8601_duration(v) if isinstance(v, str) else None
    except ValueError:
        secs = None
    if secs is None:
        raise FieldError.invalid(v, key, "want an ISO-8601 duration such as PT0.2S")
    return secs


def _delivery(obj: Any) -> DeliverySpec:
    d = _mapping(obj)
    errs = FieldError.none()
    known = {"retry", "backoffPolicy", "backoffDelay", "deadLetterSink", "timeout",
             "retryAfterMax", "format"}
    for k in sorted(set(d) - known):
        errs = errs.also(FieldError("unknown field", str(k)))
    retry = d.get("retry")
    if retry is not None and (isinstance(retry, bool) or not isinstance(retry, int)
                              or retry < 0):
        errs = errs.also(FieldError.invalid(retry, "retry", "want an integer >= 0"))
        retry = None
    policy = d.get("backoffPolicy")
    if policy is not None and policy not in BACKOFF_POLICIES:
        errs = errs.also(FieldError.invalid(policy, "backoffPolicy",
                                            "want exponential or linear"))
        policy = None
    fmt = d.get("format")
    if fmt is not None and fmt not in FORMATS:
        errs = errs.also(FieldError.invalid(fmt, "format", "want json or binary"))
        fmt = None
    durations: dict[str, float | None] = {}
    for key in ("backoffDelay", "timeout", "retryAfterMax"):
        try:
            durations[key] = _duration(d, key)
        except FieldError as e:
            errs = errs.also(e)
    if durations.get("timeout") == 0:
        errs = errs.also(FieldError.invalid(d["timeout"], "timeout", "must be > 0"))
    dls = None
    if d.get("deadLetterSink") is not None:
        try:
            dls = _uri(d["deadLetterSink"], "deadLetterSink")
        except FieldError as e:
            errs = errs.also(e)
    if errs:
        raise errs
    return DeliverySpec(retry=retry, backoff_policy=policy,
                        backoff_delay=durations.get("backoffDelay"), dead_letter_sink=dls,
                        timeout=durations.get("timeout"),
                        retry_after_max=durations.get("retryAfterMax"), format=fmt)


def _broker(obj: Any, kind: str = BROKER) -> BrokerSpec:
    b = _mapping(obj)
    errs = FieldError.none()
    ns = name = ""
    try:
        ns = _name(b, "namespace")
    except FieldError as e:
        errs = errs.also(e)
    try:
        name = _name(b, "name")
    except FieldError as e:
        errs = errs.also(e)
    # Knative's channels retry nothing unless told to; brokers get config-br-defaults'
    delivery = DEFAULT_DELIVERY if kind == BROKER else DeliverySpec()
    if b.get("delivery") is not None:
        try:
            delivery = _delivery(b["delivery"])
        except FieldError as e:
            errs = errs.also(e.via_field("delivery"))
    service = ""
    if kind == CHANNEL:
        service = f"{name}{CHANNEL_SERVICE_SUFFIX}"
        if b.get("service") is not None:
            try:
                service = _service(b, "service")
            except FieldError as e:
                errs = errs.also(e)
    for k in sorted(set(b) - {"namespace", "name", "delivery"}
                    - ({"service"} if kind == CHANNEL else set())):
        errs = errs.also(FieldError("unknown field", str(k)))
    if errs:
        raise errs
    return BrokerSpec(ns, name, delivery, kind, service)


def _delivery_of(obj: Mapping[str, Any]) -> tuple[DeliverySpec, FieldError]:
    """An optional `delivery` (unset: DeliverySpec())."""
    if obj.get("delivery") is None:
        return DeliverySpec(), FieldError.none()
    try:
        return _delivery(obj["delivery"]), FieldError.none()
    except FieldError as e:
        return DeliverySpec(), e.via_field("delivery")


def _names(obj: Mapping[str, Any], keys: tuple[str, ...]) -> tuple[dict[str, Any], FieldError]:
    vals: dict[str, Any] = {}
    errs = FieldError.none()
    for key in keys:
        try:
            vals[key] = _name(obj, key)
        except FieldError as e:
            errs = errs.also(e)
    return vals, errs


def _channel(obj: Any) -> BrokerSpec:
    return _broker(obj, CHANNEL)


def _subscription(obj: Any) -> TriggerSpec:
    """A channel's subscriber: matches every event; a subscriber-less one forwards the
    events to its reply (Knative allows either to be missing, not both)."""
    s = _mapping(obj)
    vals, errs = _names(s, ("namespace", "name", "channel"))
    uris: dict[str, str | None] = {"subscriber": None, "reply": None}
    for key in uris:
        if s.get(key) is not None:
            try:
                uris[key] = _uri(s[key], key, any_scheme=True)
            except FieldError as e:
                errs = errs.also(e)
    if s.get("subscriber") is None and s.get("reply") is None:
        errs = errs.also(FieldError.missing("subscriber", "reply"))
    delivery, bad = _delivery_of(s)
    errs = errs.also(bad)
    for k in sorted(set(s) - {"namespace", "name", "channel", "subscriber", "reply",
                              "delivery"}):
        errs = errs.also(FieldError("unknown field", str(k)))
    if errs:
        raise errs
    target, reply = uris["subscriber"], uris["reply"]
    if target is None:
        target, reply = reply, None
    return TriggerSpec(vals["namespace"], vals["name"], vals["channel"], str(target),
                       delivery=delivery, kind=SUBSCRIPTION, reply=reply)


def _trigger(obj: Any) -> TriggerSpec:
    t = _mapping(obj)
    vals, errs = _names(t, ("namespace", "name", "broker"))
    try:
        vals["subscriber"] = _uri(t.get("subscriber"), "subscriber", any_scheme=True)
    except FieldError as e:
        errs = errs.also(e)
    attrs: dict[str, str] = {}
    flt = t.get("filter")
    if flt is not None:
        try:
            fa = _mapping(flt, "filter").get("attributes") or {}
            for k, v in _mapping(fa, "filter.attributes").items():
                if not isinstance(k, str) or not isinstance(v, str):
                    raise FieldError.invalid(v, f"filter.attributes[{k}]", "want a string")
                attrs[k] = v
        except FieldError as e:
            errs = errs.also(e)
    filters: list[Mapping[str, Any]] = []
    raw = t.get("filters")
    if raw is not None:
        if not isinstance(raw, Sequence) or isinstance(raw, str):
            errs = errs.also(FieldError.invalid(raw, "filters", "want a list"))
        else:
            for i, f in enumerate(raw):
                if not isinstance(f, Mapping):
                    errs = errs.also(FieldError.invalid(f, f"filters[{i}]", "want a mapping"))
                else:
                    filters.append(MappingProxyType(dict(f)))
    delivery, bad = _delivery_of(t)
    errs = errs.also(bad)
    conc = t.get("concurrency")
    if conc is not None and (isinstance(conc, bool) or not isinstance(conc, int) or conc < 1):
        errs = errs.also(FieldError.invalid(conc, "concurrency", "want an integer >= 1"))
    ordering = t.get("ordering", "unordered")
    if ordering not in ORDERINGS:
        errs = errs.also(FieldError.invalid(ordering, "ordering",
                                            "want unordered or partitionkey"))
    known = {"namespace", "name", "broker", "subscriber", "filter", "filters", "delivery",
             "concurrency", "ordering"}
    for k in sorted(set(t) - known):
        errs = errs.also(FieldError("unknown field", str(k)))
    if errs:
        raise errs
    return TriggerSpec(vals["namespace"], vals["name"], vals["broker"], vals["subscriber"],
                       MappingProxyType(attrs), tuple(filters), delivery, conc, ordering)
