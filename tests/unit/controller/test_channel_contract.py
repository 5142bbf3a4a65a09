"""InMemoryChannels in the broker contract: what the controller writes for a channel and
its spec.subscribers, and that the data plane's parser takes it."""

from __future__ import annotations

from knpy.apis.eventing.config import EventingConfig
from knpy.controller.eventing.contract import (
    entry_generation,
    make_contract,
    next_generations,
    render,
)
from knpy.controller.eventing.in_memory_channel import channel_service
from knpy.runtime.contract import eventing
from knpy.runtime.contract.eventing import CONTRACT_KEY, GENERATION_ANNOTATION

CFG = EventingConfig()


def imc(name: str = "events", **spec) -> dict:
    return {"apiVersion": "messaging.knative.dev/v1", "kind": "InMemoryChannel",
            "metadata": {"name": name, "namespace": "ns", "uid": "imc-uid"},
            "spec": spec, "status": {"deadLetterSinkUri": "http://dls/"}}


def test_channel_and_its_subscribers_enter_the_contract() -> None:
    c = imc(delivery={"retry": 2, "deadLetterSink": {"uri": "http://dls/"}}, subscribers=[
        {"uid": "u2", "generation": 1, "subscriberUri": "http://b/"},
        {"uid": "u1", "generation": 3, "subscriberUri": "http://a/",
         "replyUri": "http://r/", "delivery": {"retry": 1, "backoffDelay": "PT1S",
                                               "deadLetterSink": {"uri": "http://d2/"}}},
        {"uid": "u3", "generation": 1},  # neither URI: the data plane would refuse it
    ])
    doc = make_contract([], [], CFG, [c])
    assert doc["channels"] == [{"namespace": "ns", "name": "events",
                                "service": "events-kn-channel", "delivery": {
        "retry": 2, "deadLetterSink": {"uri": "http://dls/"}}}]
    assert doc["subscriptions"] == [
        {"namespace": "ns", "name": "u1", "channel": "events",
         "subscriber": {"uri": "http://a/"}, "reply": {"uri": "http://r/"},
         "delivery": {"retry": 1, "backoffDelay": "PT1S",
                      "deadLetterSink": {"uri": "http://d2/"}}},
        {"namespace": "ns", "name": "u2", "channel": "events",
         "subscriber": {"uri": "http://b/"}}]
    parsed = eventing.parse(doc)  # what the broker pods will read
    assert [t.key for t in parsed.triggers] == ["subscription/ns/u1", "subscription/ns/u2"]
    # the per-entry generations readiness waits for cover the new kinds
    cm = {"metadata": {"annotations": {GENERATION_ANNOTATION: "4"}},
          "data": {CONTRACT_KEY: render(doc), "generations.json": "{}"}}
    assert entry_generation(cm, "subscriptions", "ns/u2", doc["subscriptions"][1]) == 4
    assert "subscriptions/ns/u1" in next_generations(None, doc, 1)


def test_no_channels_leaves_the_brokers_document_unchanged() -> None:
    assert make_contract([], [], CFG, []) == {"brokers": [], "triggers": []}
    deleting = imc()
    deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert make_contract([], [], CFG, [deleting]) == {
        "brokers": [], "triggers": [], "channels": [], "subscriptions": []}


def test_channel_service_points_at_the_ingress_host() -> None:
    svc = channel_service(imc(), "broker-ingress.knpy-system.svc.cluster.local:8080")
    assert svc["metadata"]["name"] == "events-kn-channel"
    assert svc["spec"]["externalName"] == "broker-ingress.knpy-system.svc.cluster.local"
    assert svc["metadata"]["ownerReferences"][0]["uid"] == "imc-uid"


def test_a_63_character_channel_gets_knatives_hashed_service_in_the_contract() -> None:
    name = "c" * 63  # rekt's channel names; <name>-kn-channel is no DNS label
    service = "ccccccccccccccccccccbc1cbc032f9b2a1fa2ae54f8576beb7e-kn-channel"
    svc = channel_service(imc(name), "broker-ingress.knpy-system.svc.cluster.local")
    assert svc["metadata"]["name"] == service
    doc = make_contract([], [], CFG, [imc(name)])
    assert doc["channels"][0]["service"] == service
    # the ingress finds the channel by that Service's Host
    assert eventing.parse(doc).brokers[0].service == service
