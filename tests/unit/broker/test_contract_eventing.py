"""The brokers+triggers contract: parsing, field-pathed errors, delivery resolution."""

from __future__ import annotations

import pytest

from knpy.runtime.config import FieldError
from knpy.runtime.contract import eventing

DOC = """
brokers:
  - {namespace: default, name: default}
  - namespace: default
    name: custom
    delivery:
      retry: 3
      backoffPolicy: linear
      backoffDelay: PT0.5S
      timeout: PT2S
      retryAfterMax: PT10S
      deadLetterSink: {uri: "http://127.0.0.1:9/dls"}
triggers:
  - namespace: default
    name: t1
    broker: default
    filter: {attributes: {type: com.example.FullEvent, source: ""}}
    subscriber: {uri: "http://127.0.0.1:9/a"}
  - namespace: default
    name: t2
    broker: custom
    filters: [{prefix: {type: com.}}]
    subscriber: "http://127.0.0.1:9/b"
    delivery: {retry: 1}
    concurrency: 4
"""


def test_parses_knative_shaped_document() -> None:
    c = eventing.loads(DOC)
    default, custom = c.brokers
    assert default.delivery == eventing.DEFAULT_DELIVERY
    assert custom.delivery.backoff_delay == 0.5 and custom.delivery.timeout == 2.0
    t1, t2 = c.triggers
    assert dict(t1.filter_attributes) == {"type": "com.example.FullEvent", "source": ""}
    assert t1.broker_key == "default/default" and t1.subscriber == "http://127.0.0.1:9/a"
    assert dict(t2.filters[0]) == {"prefix": {"type": "com."}} and t2.concurrency == 4
    assert c.triggers_of("default/custom") == (t2,)
    assert c.broker("default/nope") is None


def test_default_broker_delivery_is_retry_10_exponential_200ms() -> None:
    c = eventing.loads(DOC)
    d = eventing.effective_delivery(c.brokers[0], c.triggers[0])
    assert (d.retry, d.backoff_policy, d.backoff_delay, d.dead_letter_sink) == (
        10, "exponential", 0.2, None)
    assert d.attempts == 11


def test_trigger_delivery_replaces_broker_wholesale_but_dls_falls_back() -> None:
    c = eventing.loads(DOC)
    d = eventing.effective_delivery(c.brokers[1], c.triggers[1])
    # retry from the trigger; policy/delay/timeout NOT merged from the broker
    assert (d.retry, d.backoff_policy, d.backoff_delay, d.timeout, d.retry_after_max) == (
        1, "exponential", 0.2, None, None)
    assert d.dead_letter_sink == "http://127.0.0.1:9/dls"
    # a trigger with no delivery uses the broker's entirely
    t = eventing.TriggerSpec("default", "x", "custom", "http://a/")
    d2 = eventing.effective_delivery(c.brokers[1], t)
    assert (d2.retry, d2.backoff_policy, d2.timeout) == (3, "linear", 2.0)


@pytest.mark.parametrize(("doc", "path"), [
    ("brokers: [{namespace: default}]", "brokers[0].name"),
    ("brokers: [{namespace: Default, name: b}]", "brokers[0].namespace"),
    ("brokers: [{namespace: d, name: b, delivery: {retry: -1}}]", "brokers[0].delivery.retry"),
    ("brokers: [{namespace: d, name: b, delivery: {backoffPolicy: random}}]",
     "brokers[0].delivery.backoffPolicy"),
    ("brokers: [{namespace: d, name: b, delivery: {backoffDelay: 2s}}]",
     "brokers[0].delivery.backoffDelay"),
    ("brokers: [{namespace: d, name: b, delivery: {deadLetterSink: {uri: foo}}}]",
     "brokers[0].delivery.deadLetterSink.uri"),
    ("brokers: [{namespace: d, name: b, delivery: {retries: 1}}]", "brokers[0].delivery.retries"),
    ("triggers: [{namespace: d, name: t, broker: b}]", "triggers[0].subscriber"),
    ("triggers: [{namespace: d, name: t, broker: b, subscriber: {ref: {name: x}}}]",
     "triggers[0].subscriber"),
    ("triggers: [{namespace: d, name: t, broker: b, subscriber: 'http://x/', filters: [1]}]",
     "triggers[0].filters[0]"),
    ("triggers: [{namespace: d, name: t, broker: b, subscriber: 'http://x/', concurrency: 0}]",
     "triggers[0].concurrency"),
    ("brokers: [{namespace: d, name: b}, {namespace: d, name: b}]", "brokers[1].name"),
    ("triggers: [{namespace: d, name: t, broker: b, subscriber: 'relative/x'}]",
     "triggers[0].subscriber"),
    ("brokers: [{namespace: d, name: b, delivery: {deadLetterSink: {uri: 'bad://uri'}}}]",
     "brokers[0].delivery.deadLetterSink.uri"),
    ("brokers: [{namespace: d, name: b, delivery: {format: xml}}]",
     "brokers[0].delivery.format"),
    ("extra: 1", "extra"),
])
def test_errors_name_the_field(doc: str, path: str) -> None:
    with pytest.raises(FieldError) as e:
        eventing.loads(doc)
    assert path in e.value.paths, e.value.paths


def test_unroutable_subscriber_is_kept_and_format_parsed() -> None:
    c = eventing.loads("brokers: [{namespace: d, name: b}]\n"
                       "triggers: [{namespace: d, name: t, broker: b, subscriber: 'bad://uri',"
                       " delivery: {format: json}}]")
    assert c.triggers[0].subscriber == "bad://uri"
    assert eventing.effective_delivery(c.brokers[0], c.triggers[0]).format == "json"


def test_every_error_is_reported_at_once() -> None:
    with pytest.raises(FieldError) as e:
        eventing.loads("brokers: [{name: B}]\ntriggers: [{name: t}]")
    assert {"brokers[0].namespace", "brokers[0].name", "triggers[0].broker",
            "triggers[0].subscriber"} <= set(e.value.paths)


def test_empty_document_and_non_mapping() -> None:
    assert eventing.loads("") == eventing.EventingContract()
    with pytest.raises(FieldError):
        eventing.loads("- 1")
    with pytest.raises(FieldError, match="YAML"):
        eventing.loads("brokers: [")


def test_ordering_option() -> None:
    c = eventing.loads("triggers: [{namespace: d, name: t, broker: b, subscriber: 'http://x/',"
                       " ordering: partitionkey}]")
    assert c.triggers[0].ordering == "partitionkey"
    assert eventing.loads("triggers: [{namespace: d, name: t, broker: b, "
                          "subscriber: 'http://x/'}]").triggers[0].ordering == "unordered"
    with pytest.raises(FieldError) as e:
        eventing.loads("triggers: [{namespace: d, name: t, broker: b, subscriber: 'http://x/',"
                       " ordering: fifo}]")
    assert "triggers[0].ordering" in e.value.paths
