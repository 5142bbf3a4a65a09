"""The acceptance examples of spec/eventing.md, against real broker processes + JetStream."""

from __future__ import annotations

import base64
import json

import aiohttp
from aiohttp import web

from tests.integration.broker.conftest import Broker, Received, Sink, binary_headers, post

NS = "default"


def broker_spec(name: str = "default", **delivery: object) -> dict:
    spec: dict = {"namespace": NS, "name": name}
    if delivery:
        spec["delivery"] = delivery
    return spec


def trigger(name: str, subscriber: str, broker: str = "default", **extra: object) -> dict:
    return {"namespace": NS, "name": name, "broker": broker, "subscriber": {"uri": subscriber},
            **extra}


async def start(broker: Broker, brokers: list[dict], triggers: list[dict],
                **channels: list[dict]) -> None:
    """Write the contract (`channels=`, `subscriptions=`: its channel sections), start both
    roles, and wait until every trigger and subscription is being dispatched."""
    broker.write(brokers, triggers, **channels)
    broker.start("dispatcher")
    broker.start("ingress")
    for t in triggers:
        await broker.wait_log("dispatcher", f"trigger {NS}/{t['name']} ->")
    for s in channels.get("subscriptions", []):
        await broker.wait_log("dispatcher", f"trigger subscription/{NS}/{s['name']} ->")
    await broker.wait_log("ingress", "contract applied")


async def test_1_binary_and_structured_events_arrive_identical(
        broker: Broker, sink: Sink, http: aiohttp.ClientSession) -> None:
    await start(broker, [broker_spec()], [trigger("all", sink.url("/all"))])
    bodies = {"json": (b'{"a": [1, 2]}', "application/json"),
              "xml": (b"<order><id>7</id></order>", "application/xml"),
              "thrift": (bytes(range(256)), "application/x-thrift")}
    for name, (body, ctype) in bodies.items():
        h = binary_headers(id_=name, Content_Type=ctype, ce_subject="caf%C3%A9 au lait",
                           ce_myext="v1")
        h["Content-Type"] = ctype
        assert (await post(http, f"{broker.url}/{NS}/default", h, body))[0] == 202
    structured = {"specversion": "1.0", "id": "structured", "source": "/test",
                  "type": "com.example.FullEvent", "datacontenttype": "application/json",
                  "myext": "v2", "data": {"k": "v"}}
    st, _ = await post(http, f"{broker.url}/{NS}/default",
                       {"Content-Type": "application/cloudevents+json"},
                       json.dumps(structured).encode())
    assert st == 202
    got = {r.ce["id"]: r for r in await sink.wait_for("/all", 4)}
    for name, (body, ctype) in bodies.items():
        r = got[name]
        assert r.body == body
        assert r.ce["type"] == "com.example.FullEvent" and r.ce["source"] == "/test"
        assert r.ce["specversion"] == "1.0" and r.ce["datacontenttype"] == ctype
        assert r.ce["subject"] == "caf%C3%A9%20au%20lait" and r.ce["myext"] == "v1"
        assert "knativearrivaltime" in r.ce and "knativebrokerttl" not in r.ce
    s = got["structured"]
    assert json.loads(s.body) == {"k": "v"} and s.ce["myext"] == "v2"
    assert "knativearrivaltime" in s.ce and "knativebrokerttl" not in s.ce
    await broker.settled()
    assert len(sink.at("/all")) == 4  # each exactly once


async def test_2_invalid_events_wrong_method_and_missing_broker(
        broker: Broker, sink: Sink, http: aiohttp.ClientSession) -> None:
    await start(broker, [broker_spec()], [])
    url = f"{broker.url}/{NS}/default"
    h = binary_headers()
    del h["ce-specversion"]
    assert (await post(http, url, h))[0] == 400
    assert (await post(http, url, binary_headers(ce_specversion="19.0")))[0] == 400
    async with http.get(url) as r:
        assert r.status == 405
    assert (await post(http, f"{broker.url}/{NS}/missing", binary_headers()))[0] == 404


async def test_3_filter_attributes_and_two_triggers_one_subscriber(
        broker: Broker, sink: Sink, http: aiohttp.ClientSession) -> None:
    flt = {"attributes": {"type": "com.example.FullEvent"}}
    await start(broker, [broker_spec()], [
        trigger("one", sink.url("/one"), filter=flt),
        trigger("two-a", sink.url("/two"), filter=flt),
        trigger("two-b", sink.url("/two"), filter=flt),
    ])
    url = f"{broker.url}/{NS}/default"
    assert (await post(http, url, binary_headers(id_="other", type_="com.example.Other")))[0] \
        == 202
    assert (await post(http, url, binary_headers(id_="match")))[0] == 202
    await sink.wait_for("/one", 1)
    await sink.wait_for("/two", 2)
    await broker.settled()
    assert [r.ce["id"] for r in sink.at("/one")] == ["match"]
    assert [r.ce["id"] for r in sink.at("/two")] == ["match", "match"]


async def test_4_reply_goes_back_into_the_broker(
        broker: Broker, sink: Sink, http: aiohttp.ClientSession) -> None:
    async def reply(rec: Received, n: int) -> web.Response:
        return web.Response(status=200, body=b'{"reply":true}', headers={
            "ce-specversion": "1.0", "ce-id": f"reply-{rec.ce['id']}", "ce-source": "/replier",
            "ce-type": "ReplyEvent", "Content-Type": "application/json"})
    sink.behaviours["/first"] = reply
    await start(broker, [broker_spec()], [
        trigger("first", sink.url("/first"),
                filter={"attributes": {"type": "com.example.FullEvent"}}),
        trigger("second", sink.url("/second"), filter={"attributes": {"type": "ReplyEvent"}}),
    ])
    h = binary_headers(id_="orig", traceparent="00-0af7651916cd43dd8448eb211c80319c-"
                       "b7ad6b7169203331-01", x_request_id="req-1", x_secret="no")
    assert (await post(http, f"{broker.url}/{NS}/default", h))[0] == 202
    (first,) = await sink.wait_for("/first", 1)
    assert first.headers["Prefer"] == "reply" and first.headers["Kn-Namespace"] == NS
    assert first.headers["traceparent"].startswith("00-0af7") and \
        first.headers["x-request-id"] == "req-1"
    assert "x-secret" not in first.headers
    (second,) = await sink.wait_for("/second", 1)
    assert second.ce["id"] == "reply-orig" and second.ce["type"] == "ReplyEvent"
    assert second.body == b'{"reply":true}' and "knativebrokerttl" not in second.ce


async def test_5_retry_then_success_then_dead_letter(
        broker: Broker, sink: Sink, http: aiohttp.ClientSession) -> None:
    async def fail_n(times: int, status: int = 503):
        async def b(rec: Received, n: int) -> web.Response:
            return web.Response(status=status if n <= times else 200)
        return b
    sink.behaviours["/flaky3"] = await fail_n(3)
    sink.behaviours["/flaky4"] = await fail_n(4, 500)

    async def unprocessable(rec: Received, n: int) -> web.Response:
        return web.Response(status=422, body=b"X")
    sink.behaviours["/422"] = unprocessable
    await start(broker, [broker_spec(retry=3, backoffDelay="PT0.05S",
                                     deadLetterSink={"uri": sink.url("/dls")})], [
        trigger("flaky3", sink.url("/flaky3"), filter={"attributes": {"type": "three"}}),
        trigger("flaky4", sink.url("/flaky4"), filter={"attributes": {"type": "four"}}),
        trigger("bad", sink.url("/422"), filter={"attributes": {"type": "bad"}}),
    ])
    url = f"{broker.url}/{NS}/default"
    for t in ("three", "four", "bad"):
        assert (await post(http, url, binary_headers(id_=t, type_=t)))[0] == 202
    got3 = await sink.wait_for("/flaky3", 4)
    assert len(got3) == 4
    dls = await sink.wait_for("/dls", 2)
    by_id = {r.ce["id"]: r for r in dls}
    assert len(sink.at("/flaky4")) == 4  # 1 + retry 3, then the DLS
    assert by_id["four"].ce["knativeerrorcode"] == "500"
    assert by_id["four"].ce["knativeerrordest"] == sink.url("/flaky4")
    assert len(sink.at("/422")) == 1  # never retried
    assert by_id["bad"].ce["knativeerrorcode"] == "422"
    assert by_id["bad"].ce["knativeerrordata"] == base64.b64encode(b"X").decode()
    assert by_id["bad"].body == b'{"hello":"world"}'
    await broker.settled()
    assert len(sink.at("/flaky3")) == 4 and len(sink.at("/dls")) == 2


async def test_6_a_36864_byte_event_is_delivered_exactly_once(
        broker: Broker, sink: Sink, http: aiohttp.ClientSession) -> None:
    await start(broker, [broker_spec()], [trigger("all", sink.url("/all"))])
    body = json.dumps({"pad": "y" * (36864 - 11)}).encode()
    assert len(body) == 36864
    assert (await post(http, f"{broker.url}/{NS}/default", binary_headers(), body))[0] == 202
    (r,) = await sink.wait_for("/all", 1)
    assert r.body == body
    await broker.settled()
    assert len(sink.at("/all")) == 1
