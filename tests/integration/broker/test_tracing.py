"""Tracing across the event path on real processes: broker ingress -> JetStream ->
dispatcher -> subscriber -> reply back into the broker -> dispatcher -> second subscriber,
spans collected by an OTLP/HTTP collector on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.integration.broker.conftest import Broker, Received, Sink, binary_headers, post
from tests.integration.broker.test_acceptance import NS, broker_spec, start, trigger
from tests.support import otlp
from tests.support.otlp import Collector
from tests.support.poll import eventually

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_SPAN = "00f067aa0ba902b7"
# the CloudEvents distributed-tracing extension of the event and of the reply: another
# trace (where each event was created), which the broker must never rewrite
EVENT_EXT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
REPLY_EXT = "00-11111111111111111111111111111111-2222222222222222-01"
BROKER = f"{NS}/default"
PRODUCER, CONSUMER, CLIENT = 4, 5, 3  # OTLP SpanKind


@pytest.fixture
async def collector() -> AsyncIterator[Collector]:
    async with otlp.collector() as c:
        yield c


def _one(spans: list[dict[str, Any]], name: str, parent: str) -> dict[str, Any]:
    found = [s for s in spans if s["name"] == name and s["parent"] == parent]
    assert len(found) == 1, f"{name} under {parent}: {found} in {spans}"
    return found[0]


async def test_event_and_reply_are_one_trace_across_the_store(
        broker: Broker, sink: Sink, collector: Collector,
        http: aiohttp.ClientSession) -> None:
    async def reply(rec: Received, n: int) -> web.Response:
        return web.Response(status=200, body=b'{"ok":true}', headers={
            "ce-specversion": "1.0", "ce-id": "r1", "ce-source": "/first",
            "ce-type": "order.confirmed", "ce-traceparent": REPLY_EXT,
            "Content-Type": "application/json"})
    sink.behaviours["/first"] = reply
    # Rate 0: only the client's sampled traceparent is traced, nothing else is exported.
    broker.env = {"OBSERVABILITY_CONFIG": json.dumps({
                      "tracing-protocol": "http/protobuf", "tracing-sampling-rate": "0",
                      "tracing-endpoint": collector.url}),
                  "OTEL_BSP_SCHEDULE_DELAY": "100"}
    await start(broker, [broker_spec()], [
        trigger("first", sink.url("/first"), filter={"attributes": {"type": "order.created"}}),
        trigger("second", sink.url("/second"),
                filter={"attributes": {"type": "order.confirmed"}})])

    status, _ = await post(http, f"{broker.url}/{BROKER}", binary_headers(
        id_="e1", type_="order.created", source="/shop", traceparent=f"00-{TRACE_ID}-"
        f"{CLIENT_SPAN}-01", baggage="tenant=acme", ce_traceparent=EVENT_EXT))
    assert status == 202
    (first,) = await sink.wait_for("/first", 1)
    (second,) = await sink.wait_for("/second", 1)

    async def all_spans() -> bool:
        return (len(collector.of("broker-ingress", TRACE_ID)) == 1
                and len(collector.of("broker-dispatcher", TRACE_ID)) == 5)
    await eventually(all_spans, 15, "1 ingress and 5 dispatcher spans exported",
                     detail=lambda: str(collector.spans))
    assert {s["trace_id"] for s in collector.spans} == {TRACE_ID}
    (send,) = collector.of("broker-ingress", TRACE_ID)
    d = collector.of("broker-dispatcher", TRACE_ID)
    assert (send["name"], send["kind"], send["parent"]) == (f"send {BROKER}", PRODUCER,
                                                            CLIENT_SPAN)
    p1 = _one(d, f"process {NS}/first", send["span_id"])
    post1 = _one(d, "POST", p1["span_id"])
    resend = _one(d, f"send {BROKER}", p1["span_id"])
    p2 = _one(d, f"process {NS}/second", resend["span_id"])
    post2 = _one(d, "POST", p2["span_id"])
    assert (p1["kind"], p2["kind"], post1["kind"], resend["kind"]) == (
        CONSUMER, CONSUMER, CLIENT, PRODUCER)

    # each subscriber's parent is the delivery's CLIENT span; baggage passes untouched
    assert first.headers["traceparent"] == f"00-{TRACE_ID}-{post1['span_id']}-01"
    assert second.headers["traceparent"] == f"00-{TRACE_ID}-{post2['span_id']}-01"
    assert first.headers["baggage"] == second.headers["baggage"] == "tenant=acme"
    # the CloudEvents tracing extension is the events' own, kept on delivery and reply
    assert first.ce["traceparent"] == EVENT_EXT
    assert second.ce["traceparent"] == REPLY_EXT

    for s in (send, resend):
        assert s["attrs"]["messaging.destination.name"] == BROKER
        assert s["attrs"]["messaging.operation.type"] == "send"
    assert send["attrs"]["cloudevents.event_id"] == "e1"
    assert send["attrs"]["cloudevents.event_type"] == "order.created"
    assert send["attrs"]["cloudevents.event_source"] == "/shop"
    assert resend["attrs"]["cloudevents.event_id"] == "r1"
    assert p1["attrs"]["messaging.system"] == "knative"
    assert p1["attrs"]["messaging.destination.subscription.name"] == f"{NS}/first"
    assert p1["attrs"]["messaging.operation.type"] == "process"
    assert p2["attrs"]["cloudevents.event_type"] == "order.confirmed"
    assert post1["attrs"]["url.full"] == sink.url("/first")
    assert post1["attrs"]["http.response.status_code"] == 200
    assert all(s["status"] != 2 for s in collector.spans)  # STATUS_CODE_ERROR
