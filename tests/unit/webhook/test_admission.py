"""AdmissionReview handling (pure) and the TLS server on a real socket."""

from __future__ import annotations

import base64
import copy
import json
import ssl

import aiohttp
import pytest

from knpy.apis.eventing.config import BrokerDefaults
from knpy.webhook.admission import default_review, eventing_handlers, validate_review
from knpy.webhook.certs import CertBundle, generate
from knpy.webhook.jsonpatch import diff
from knpy.webhook.server import make_server, ssl_context

H = eventing_handlers()


def review(obj: dict, op: str = "CREATE", old: dict | None = None, group: str | None = None,
           kind: str | None = None) -> dict:
    g, _, _v = obj.get("apiVersion", "").rpartition("/")
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {"uid": "u-1", "operation": op,
                        "kind": {"group": g if group is None else group,
                                 "version": "v1", "kind": kind or obj["kind"]},
                        "object": obj, "oldObject": old}}


def trig(**spec) -> dict:
    s = {"broker": "default", "subscriber": {"uri": "http://sink/"}, **spec}
    return {"apiVersion": "eventing.knative.dev/v1", "kind": "Trigger",
            "metadata": {"name": "t", "namespace": "ns"}, "spec": s}


def apply_patch(obj: dict, ops: list[dict]) -> dict:
    out = copy.deepcopy(obj)
    for op in ops:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        parent = out
        for p in parts[:-1]:
            parent = parent[int(p)] if isinstance(parent, list) else parent[p]
        if op["op"] == "remove":
            del parent[parts[-1]]
        else:
            parent[parts[-1]] = op["value"]
    return out


def test_bad_trigger_denied_with_field_paths() -> None:
    out = validate_review(review(trig(filters=[{"cesql": "type = "}],
                                      filter={"attributes": {"Bad": "x"}})), H)
    resp = out["response"]
    assert out["kind"] == "AdmissionReview" and resp["uid"] == "u-1"
    assert resp["allowed"] is False and resp["status"]["code"] == 400
    lines = resp["status"]["message"].splitlines()
    assert lines[0].startswith("validation failed: attribute name must start with a letter")
    assert lines[0].endswith(": spec.filter.attributes[Bad]")
    assert lines[1].startswith("invalid CESQL expression: ")
    assert lines[1].endswith(": spec.filters[0].cesql")


def test_good_trigger_allowed_and_deletes_ignored() -> None:
    assert validate_review(review(trig()), H)["response"]["allowed"] is True
    assert validate_review(review(trig(broker=""), op="DELETE"), H)["response"]["allowed"]


def test_update_checks_immutability_but_not_status_only_changes() -> None:
    old = trig()
    new = trig(broker="other")
    resp = validate_review(review(new, "UPDATE", old), H)["response"]
    assert not resp["allowed"]
    assert resp["status"]["message"] == ("validation failed: Immutable fields changed "
                                         '(-old +new): spec.broker\n-: "default"\n+: "other"')
    bad_old = trig(filter={"attributes": {"Bad": "x"}})  # stored before the webhook existed
    status_only = copy.deepcopy(bad_old)
    status_only["status"] = {"observedGeneration": 1}
    assert validate_review(review(status_only, "UPDATE", bad_old), H)["response"]["allowed"]


def test_broker_defaulting_patch() -> None:
    b = {"apiVersion": "eventing.knative.dev/v1", "kind": "Broker",
         "metadata": {"name": "b", "namespace": "ns"}}
    resp = default_review(review(b), H)["response"]
    assert resp["allowed"] and resp["patchType"] == "JSONPatch"
    patched = apply_patch(b, json.loads(base64.b64decode(resp["patch"])))
    assert patched["spec"]["delivery"] == {"retry": 10, "backoffPolicy": "exponential",
                                           "backoffDelay": "PT0.2S"}
    assert patched["metadata"]["annotations"] == {
        "eventing.knative.dev/broker.class": "MTChannelBasedBroker"}


def test_broker_defaults_follow_live_config() -> None:
    h = eventing_handlers(lambda: BrokerDefaults(broker_class="Knpy", retry=3))
    b = {"apiVersion": "eventing.knative.dev/v1", "kind": "Broker",
         "metadata": {"name": "b", "namespace": "ns"}, "spec": {}}
    resp = default_review(review(b), h)["response"]
    patched = apply_patch(b, json.loads(base64.b64decode(resp["patch"])))
    assert patched["spec"]["delivery"]["retry"] == 3
    assert patched["metadata"]["annotations"]["eventing.knative.dev/broker.class"] == "Knpy"


def test_trigger_defaulting_sets_broker_label() -> None:
    t = trig()
    resp = default_review(review(t), H)["response"]
    patched = apply_patch(t, json.loads(base64.b64decode(resp["patch"])))
    assert patched["metadata"]["labels"] == {"eventing.knative.dev/broker": "default"}


def test_configmap_validation() -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap",
          "metadata": {"name": "config-br-defaults", "namespace": "knpy-system"},
          "data": {"default-retry": "-2"}}
    resp = validate_review(review(cm, group=""), H)["response"]
    assert not resp["allowed"]
    assert resp["status"]["message"].startswith(
        "validation failed: invalid value: -2: config-br-defaults[default-retry]\n")
    other = dict(cm, metadata={"name": "unrelated", "namespace": "x"})
    assert validate_review(review(other, group=""), H)["response"]["allowed"]


def test_not_a_review_is_rejected() -> None:
    with pytest.raises(ValueError, match="AdmissionReview"):
        validate_review({"kind": "Pod"}, H)


def test_jsonpatch_diff_escapes_keys() -> None:
    ops = diff({"a": {"x/y": 1, "gone": 2}}, {"a": {"x/y": 3}, "b": [1]})
    assert ops == [{"op": "remove", "path": "/a/gone"},
                   {"op": "replace", "path": "/a/x~1y", "value": 3},
                   {"op": "add", "path": "/b", "value": [1]}]


def test_certs_cover_sans_and_roundtrip_a_secret() -> None:
    b = generate(["knpy-webhook.knpy-system.svc", "127.0.0.1"])
    assert b.sans() == {"knpy-webhook.knpy-system.svc", "127.0.0.1"}
    assert not b.needs_renewal(["127.0.0.1"])
    assert b.needs_renewal(["other.svc"]), "a new SAN forces a new certificate"
    assert CertBundle.from_secret_data(b.to_secret_data()) == b
    assert CertBundle.from_secret_data({}) is None


async def test_server_over_tls_with_its_own_ca() -> None:
    bundle = generate(["127.0.0.1"])
    server = make_server(lambda: H)
    port = await server.listen("127.0.0.1", 0, ssl=ssl_context(bundle))
    try:
        client_ctx = ssl.create_default_context(cadata=bundle.ca_pem.decode())
        url = f"https://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as s:
            async with s.post(f"{url}/validation", json=review(trig(
                    delivery={"retry": -1})), ssl=client_ctx) as r:
                body = await r.json()
            assert r.status == 200
            assert body["response"]["status"]["message"] == \
                "validation failed: invalid value: -1: spec.delivery.retry\nmust be >= 0"
            async with s.post(f"{url}/validation", data=b"{nope", ssl=client_ctx) as r:
                assert r.status == 400
                assert "not JSON" in (await r.json())["error"]
            async with s.get(f"{url}/healthz", ssl=client_ctx) as r:
                assert r.status == 200
            # a client that does not trust our CA is refused by TLS itself
            with pytest.raises(aiohttp.ClientConnectorCertificateError):
                async with s.get(f"{url}/healthz", ssl=ssl.create_default_context()):
                    pass
    finally:
        await server.close()


def test_messaging_kinds_defaulted_and_validated_with_field_paths() -> None:
    from knpy.apis.messaging.v1 import ChannelDefaults
    from knpy.webhook.messaging import messaging_handlers
    h = messaging_handlers(lambda: ChannelDefaults(namespace_defaults={
        "ns": {"apiVersion": "messaging.knative.dev/v1", "kind": "InMemoryChannel",
               "spec": {"delivery": {"retry": 2}}}}))
    ch = {"apiVersion": "messaging.knative.dev/v1", "kind": "Channel",
          "metadata": {"name": "c", "namespace": "ns"}}
    resp = default_review(review(ch), h)["response"]
    patched = apply_patch(ch, json.loads(base64.b64decode(resp["patch"])))
    assert patched["spec"]["channelTemplate"]["spec"] == {"delivery": {"retry": 2}}
    assert validate_review(review(patched), h)["response"]["allowed"]
    s = {"apiVersion": "messaging.knative.dev/v1", "kind": "Subscription",
         "metadata": {"name": "s", "namespace": "ns"},
         "spec": {"channel": {"apiVersion": "messaging.knative.dev/v1", "kind": "Channel",
                              "name": "c"}, "delivery": {"retry": -1}}}
    resp = validate_review(review(s), h)["response"]
    assert not resp["allowed"]
    assert "spec.delivery.retry" in resp["status"]["message"]
    assert "spec.reply" in resp["status"]["message"]
    cm = {"apiVersion": "v1", "kind": "ConfigMap",
          "metadata": {"name": "default-ch-webhook", "namespace": "knpy-system"},
          "data": {"default-ch-config": "clusterDefault: {kind: X}"}}
    resp = validate_review(review(cm, group=""), h)["response"]
    assert not resp["allowed"] and "clusterDefault.apiVersion" in resp["status"]["message"]


def test_flows_defaulted_and_validated_with_field_paths() -> None:
    from knpy.apis.messaging.v1 import ChannelDefaults
    from knpy.webhook.flows import flows_handlers
    imc = {"apiVersion": "messaging.knative.dev/v1", "kind": "InMemoryChannel"}
    h = flows_handlers(lambda: ChannelDefaults(namespace_defaults={"ns": {**imc, "spec": {
        "delivery": {"retry": 2}}}}))
    seq = {"apiVersion": "flows.knative.dev/v1", "kind": "Sequence",
           "metadata": {"name": "s", "namespace": "ns"},
           "spec": {"steps": [{"ref": {"apiVersion": "v1", "kind": "Service", "name": "a"}}]}}
    resp = default_review(review(seq), h)["response"]
    patched = apply_patch(seq, json.loads(base64.b64decode(resp["patch"])))
    assert patched["spec"]["channelTemplate"] == {**imc, "spec": {"delivery": {"retry": 2}}}
    assert patched["spec"]["steps"][0]["ref"]["namespace"] == "ns"
    assert validate_review(review(patched), h)["response"]["allowed"]
    patched["spec"]["steps"] = []
    resp = validate_review(review(patched, op="UPDATE", old=seq), h)["response"]
    assert not resp["allowed"]
    assert "must have at least one step: spec.steps" in resp["status"]["message"]
    par = {"apiVersion": "flows.knative.dev/v1", "kind": "Parallel",
           "metadata": {"name": "p", "namespace": "ns"},
           "spec": {"channelTemplate": imc, "branches": [{"filter": {"uri": "http://f/"}}]}}
    resp = validate_review(review(par), h)["response"]
    assert not resp["allowed"] and "spec.branches[0].subscriber" in resp["status"]["message"]
