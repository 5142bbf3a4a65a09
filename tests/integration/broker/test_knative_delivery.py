"""What Knative's own Eventing tests (rekt) expect of deliveries, against real broker
processes and JetStream: an unroutable subscriber dead-letters with `knativeerrordest`,
dead-letter deliveries carry `Kn-Namespace`, several attributes in one `exact` filter must
all match, and `delivery.format: json` delivers in structured mode."""

from __future__ import annotations

import json

import aiohttp

from tests.integration.broker.conftest import Broker, Sink, binary_headers, post
from tests.integration.broker.test_acceptance import NS, broker_spec, start, trigger


async def send(http: aiohttp.ClientSession, broker: Broker, id_: str, type_: str,
               **extra: str) -> None:
    st, text = await post(http, f"{broker.url}/{NS}/default",
                          binary_headers(id_=id_, type_=type_, **extra))
    assert st == 202, text


async def test_unroutable_subscriber_dead_letters_with_its_destination_and_namespace(
        broker: Broker, sink: Sink, http: aiohttp.ClientSession) -> None:
    await start(broker, [broker_spec(retry=1, backoffDelay="PT0.01S",
                                     deadLetterSink={"uri": sink.url("/dls")})],
                [trigger("bad", "bad://uri", filter={"attributes": {"type": "bad"}}),
                 trigger("good", sink.url("/good"), filter={"attributes": {"type": "bad"}},
                         delivery={"deadLetterSink": {"uri": sink.url("/dls")}})])
    await send(http, broker, "e1", "bad")
    [dead] = await sink.wait_for("/dls", 1)
    assert dead.ce["id"] == "e1" and dead.ce["knativeerrordest"] == "bad://uri"
    assert "knativeerrorcode" not in dead.ce  # no response at all
    assert dead.headers["Kn-Namespace"] == NS, "as on subscriber deliveries"
    [good] = await sink.wait_for("/good", 1)
    assert good.headers["Kn-Namespace"] == NS
    await broker.settled()
    assert len(sink.at("/dls")) == 1


async def test_several_attributes_in_one_exact_filter_must_all_match(
        broker: Broker, sink: Sink, http: aiohttp.ClientSession) -> None:
    await start(broker, [broker_spec()], [
        trigger("both", sink.url("/both"),
                filters=[{"exact": {"type": "com.example.a", "source": "/wanted"}}])])
    await send(http, broker, "other-source", "com.example.a")  # source /test
    await send(http, broker, "wanted", "com.example.a", **{"ce-source": "/wanted"})
    [got] = await sink.wait_for("/both", 1)
    await broker.settled()
    assert [r.ce["id"] for r in sink.at("/both")] == ["wanted"] and got.ce["source"] == \
        "/wanted"


async def test_delivery_format_json_is_structured_and_binary_stays_binary(
        broker: Broker, sink: Sink, http: aiohttp.ClientSession) -> None:
    await start(broker, [broker_spec()], [
        trigger("json", sink.url("/json"), delivery={"format": "json"}),
        trigger("binary", sink.url("/binary"), delivery={"format": "binary"})])
    await send(http, broker, "f1", "com.example.f")
    [structured] = await sink.wait_for("/json", 1)
    [binary] = await sink.wait_for("/binary", 1)
    assert structured.headers["Content-Type"].startswith("application/cloudevents+json")
    doc = json.loads(structured.body)
    assert (doc["id"], doc["type"], doc["data"]) == ("f1", "com.example.f", {"hello": "world"})
    assert structured.headers["Kn-Namespace"] == NS
    assert binary.ce["id"] == "f1" and binary.body == b'{"hello":"world"}'
