"""Dispatcher behaviour: retry classification, Retry-After, timeouts, replies and TTL,
delivery overrides, concurrency limits and live contract changes."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from aiohttp import web

from tests.integration.broker.conftest import Broker, Received, Sink, binary_headers, post
from tests.integration.broker.test_acceptance import NS, broker_spec, start, trigger
from tests.support.poll import eventually


def status_then_ok(status: int, times: int = 1, headers: dict[str, str] | None = None):
    async def b(rec: Received, n: int) -> web.Response:
        if n <= times:
            return web.Response(status=status, headers=headers or {})
        return web.Response(status=200)
    return b


async def send(http: aiohttp.ClientSession, broker: Broker, id_: str, type_: str,
               **extra: str) -> None:
    st, text = await post(http, f"{broker.url}/{NS}/default",
                          binary_headers(id_=id_, type_=type_, **extra))
    assert st == 202, text


async def test_retry_classification(broker: Broker, sink: Sink,
                                    http: aiohttp.ClientSession) -> None:
    retried = (404, 408, 409, 429, 500, 502, 503, 504)
    final = (400, 401, 403, 413, 422)
    for code in (*retried, *final):
        sink.behaviours[f"/{code}"] = status_then_ok(code)
    await start(broker, [broker_spec(retry=2, backoffDelay="PT0.02S")], [
        trigger(f"c{code}", sink.url(f"/{code}"), filter={"attributes": {"type": f"t{code}"}})
        for code in (*retried, *final)])
    for code in (*retried, *final):
        await send(http, broker, f"e{code}", f"t{code}")
    for code in retried:
        await sink.wait_for(f"/{code}", 2)
    await broker.settled()
    for code in retried:
        assert len(sink.at(f"/{code}")) == 2, code  # failed once, retried, succeeded
    for code in final:
        assert len(sink.at(f"/{code}")) == 1, code  # never retried


async def test_retry_after_is_honoured_and_capped(broker: Broker, sink: Sink,
                                                   http: aiohttp.ClientSession) -> None:
    sink.behaviours["/ra1"] = status_then_ok(429, headers={"Retry-After": "1"})
    sink.behaviours["/ra-capped"] = status_then_ok(503, headers={"Retry-After": "3600"})
    await start(broker, [broker_spec(retry=3, backoffDelay="PT0.01S", retryAfterMax="PT1.5S")],
                [trigger("ra1", sink.url("/ra1"), filter={"attributes": {"type": "ra1"}}),
                 trigger("rac", sink.url("/ra-capped"),
                         filter={"attributes": {"type": "rac"}})])
    await send(http, broker, "a", "ra1")
    await send(http, broker, "b", "rac")
    first, second = await sink.wait_for("/ra1", 2)
    assert second.at - first.at >= 0.9  # Retry-After: 1 beat the 10 ms backoff
    c1, c2 = await sink.wait_for("/ra-capped", 2, wait=10)
    assert 1.3 <= c2.at - c1.at < 10  # capped at retryAfterMax, not an hour


async def test_timeout_counts_as_failure_and_dead_letters_without_code(
        broker: Broker, sink: Sink, http: aiohttp.ClientSession) -> None:
    async def slow(rec: Received, n: int) -> web.Response:
        await asyncio.sleep(3)
        return web.Response(status=200)
    sink.behaviours["/slow"] = slow
    await start(broker, [broker_spec(retry=1, backoffDelay="PT0.01S", timeout="PT0.3S",
                                     deadLetterSink={"uri": sink.url("/dls")})],
                [trigger("slow", sink.url("/slow"))])
    await send(http, broker, "s1", "x")
    (d,) = await sink.wait_for("/dls", 1, wait=15)
    assert len(sink.at("/slow")) == 2
    assert d.ce["knativeerrordest"] == sink.url("/slow")
    assert "knativeerrorcode" not in d.ce and d.ce["id"] == "s1"


async def test_reply_loop_ends_by_ttl(broker: Broker, sink: Sink,
                                      http: aiohttp.ClientSession) -> None:
    async def echo(rec: Received, n: int) -> web.Response:
        return web.Response(status=200, body=rec.body, headers={
            "ce-specversion": "1.0", "ce-id": f"{rec.ce['id']}+", "ce-source": "/loop",
            "ce-type": "loop", "Content-Type": "application/json"})
    sink.behaviours["/loop"] = echo
    await start(broker, [broker_spec()], [
        trigger("loop", sink.url("/loop"), filter={"attributes": {"type": "loop"}})])
    await send(http, broker, "L", "loop", ce_knativebrokerttl="5")
    await sink.wait_for("/loop", 4)
    await broker.settled()
    ids = [r.ce["id"] for r in sink.at("/loop")]
    # stored with TTL 4, 3, 2, 1; the reply to the last arrives with 1 and is dropped
    assert ids == ["L", "L+", "L++", "L+++"]
    assert all("knativebrokerttl" not in r.ce for r in sink.at("/loop"))


async def test_202_is_not_a_reply_and_a_non_event_body_is_a_failure(
        broker: Broker, sink: Sink, http: aiohttp.ClientSession) -> None:
    ce_headers = {"ce-specversion": "1.0", "ce-id": "r", "ce-source": "/r", "ce-type": "reply"}

    async def accepted_with_event(rec: Received, n: int) -> web.Response:
        return web.Response(status=202, body=b"{}", headers=ce_headers)

    async def junk(rec: Received, n: int) -> web.Response:
        return web.Response(status=200, text="not an event")

    async def bad_event(rec: Received, n: int) -> web.Response:
        return web.Response(status=200, body=b"{}",
                            headers={k: v for k, v in ce_headers.items() if k != "ce-type"})
    sink.behaviours["/202"] = accepted_with_event
    sink.behaviours["/junk"] = junk
    sink.behaviours["/bad"] = bad_event
    await start(broker, [broker_spec(retry=3, backoffDelay="PT0.01S",
                                     deadLetterSink={"uri": sink.url("/dls")})], [
        trigger("a", sink.url("/202"), filter={"attributes": {"type": "a"}}),
        trigger("j", sink.url("/junk"), filter={"attributes": {"type": "j"}}),
        trigger("b", sink.url("/bad"), filter={"attributes": {"type": "b"}}),
        trigger("replies", sink.url("/replies"), filter={"attributes": {"type": "reply"}}),
    ])
    for t in ("a", "j", "b"):
        await send(http, broker, t, t)
    dls = {r.ce["id"]: r for r in await sink.wait_for("/dls", 2)}
    assert dls["j"].ce["knativeerrorcode"] == "200"
    assert dls["j"].ce["knativeerrordata"] == "bm90IGFuIGV2ZW50"  # base64("not an event")
    assert dls["b"].ce["knativeerrorcode"] == "200"
    await broker.settled()
    assert sink.at("/replies") == [] and len(sink.at("/202")) == 1
    assert len(sink.at("/junk")) == 1  # a 2xx is not retryable


async def test_trigger_delivery_overrides_broker_and_dls_falls_back(
        broker: Broker, sink: Sink, http: aiohttp.ClientSession) -> None:
    sink.behaviours["/down"] = status_then_ok(500, times=100)
    await start(broker, [broker_spec(retry=5, backoffDelay="PT0.01S",
                                     deadLetterSink={"uri": sink.url("/broker-dls")})], [
        trigger("t", sink.url("/down"), delivery={"retry": 1})])
    await send(http, broker, "o1", "x")
    (d,) = await sink.wait_for("/broker-dls", 1)
    assert d.ce["knativeerrorcode"] == "500"
    assert len(sink.at("/down")) == 2  # 1 + the trigger's retry 1, not the broker's 5


async def test_trigger_concurrency_limit(broker: Broker, sink: Sink,
                                         http: aiohttp.ClientSession) -> None:
    active = peak = 0

    async def slow(rec: Received, n: int) -> web.Response:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.3)
        active -= 1
        return web.Response(status=200)
    sink.behaviours["/slow"] = slow
    await start(broker, [broker_spec()], [trigger("t", sink.url("/slow"), concurrency=2)])
    for i in range(8):
        await send(http, broker, f"c{i}", "x")
    await sink.wait_for("/slow", 8, wait=20)
    assert peak == 2


async def test_triggers_follow_contract_changes(broker: Broker, sink: Sink,
                                                http: aiohttp.ClientSession) -> None:
    await start(broker, [broker_spec()], [trigger("a", sink.url("/a"))])
    await send(http, broker, "1", "x")
    await sink.wait_for("/a", 1)
    broker.write([broker_spec()], [trigger("a", sink.url("/a")), trigger("b", sink.url("/b"))])
    await broker.wait_log("dispatcher", f"trigger {NS}/b ->")
    await broker.wait_log("ingress", "2 trigger(s)")
    await send(http, broker, "2", "x")
    await sink.wait_for("/b", 1)
    broker.write([broker_spec()], [trigger("b", sink.url("/b"))])
    await broker.wait_log("dispatcher", f"trigger {NS}/a removed")
    await send(http, broker, "3", "x")
    await sink.wait_for("/b", 2)
    await broker.settled()
    assert [r.ce["id"] for r in sink.at("/a")] == ["1", "2"]
    # a bad contract is rejected and the last good one stays in force
    broker.contract.write_text("brokers: [{namespace: Bad}]")
    await broker.wait_log("dispatcher", "brokers[0].namespace")
    await send(http, broker, "4", "x")
    await sink.wait_for("/b", 3)


async def test_settled_records_are_compacted(broker: Broker, sink: Sink, nats,
                                             http: aiohttp.ClientSession) -> None:
    import nats as natspy

    broker.extra = ["--stream-keep", "5"]
    await start(broker, [broker_spec()], [trigger("a", sink.url("/a")),
                                          trigger("b", sink.url("/b"))])
    for i in range(30):
        await send(http, broker, f"k{i}", "x")
    await sink.wait_for("/a", 30)
    await sink.wait_for("/b", 30)
    nc = await natspy.connect(nats.url)
    try:
        js = nc.jetstream()

        async def compacted() -> Any:
            state = (await js.stream_info("broker_default_default")).state
            return state if state.messages <= 5 else None
        state = await eventually(compacted, 20, "the stream compacted to 5 records",
                                 every=0.2)
        assert state.last_seq == 30
    finally:
        await nc.close()


async def test_filter_dialects_and_override_rules(broker: Broker, sink: Sink,
                                                  http: aiohttp.ClientSession) -> None:
    await start(broker, [broker_spec()], [
        trigger("prefix", sink.url("/prefix"), filters=[{"prefix": {"type": "com.acme."}}]),
        trigger("cesql", sink.url("/cesql"),
                filters=[{"cesql": "source LIKE '/shop/%' AND myext = 'x'"}]),
        trigger("anynot", sink.url("/anynot"), filters=[
            {"any": [{"exact": {"type": "a"}}, {"suffix": {"type": ".z"}}]},
            {"not": {"exact": {"source": "/blocked"}}}]),
        # a non-empty `filters` overrides `filter`; an empty one does not
        trigger("override", sink.url("/override"), filter={"attributes": {"type": "never"}},
                filters=[{"exact": {"type": "a"}}]),
        trigger("empty", sink.url("/empty"), filter={"attributes": {"type": "a"}}, filters=[]),
    ])
    events = [("1", "com.acme.order", "/shop/1", {"ce_myext": "x"}),
              ("2", "a", "/shop/2", {"ce_myext": "y"}),
              ("3", "b.z", "/blocked", {}),
              ("4", "b.z", "/ok", {})]
    for eid, typ, src, extra in events:
        st, _ = await post(http, f"{broker.url}/{NS}/default",
                           binary_headers(id_=eid, type_=typ, source=src, **extra))
        assert st == 202
    await sink.wait_for("/prefix", 1)
    await sink.wait_for("/anynot", 2)
    await broker.settled()
    ids = {p: sorted(r.ce["id"] for r in sink.at(p))
           for p in ("/prefix", "/cesql", "/anynot", "/override", "/empty")}
    assert ids == {"/prefix": ["1"], "/cesql": ["1"], "/anynot": ["2", "4"],
                   "/override": ["2"], "/empty": ["2"]}


async def test_invalid_filter_and_trigger_before_its_broker(
        broker: Broker, sink: Sink, http: aiohttp.ClientSession) -> None:
    bad = trigger("bad", sink.url("/bad"), filters=[{"cesql": "type = "}])
    early = trigger("early", sink.url("/early"), broker="later")
    broker.write([broker_spec()], [bad, early])
    broker.start("dispatcher")
    broker.start("ingress")
    await broker.wait_log("dispatcher", "invalid filter at filters[0].cesql")
    await broker.wait_log("dispatcher", f"trigger {NS}/early waits for broker {NS}/later")
    broker.write([broker_spec(), broker_spec("later")], [bad, early])
    await broker.wait_log("dispatcher", f"trigger {NS}/early ->")
    await broker.wait_log("ingress", "2 broker(s)")
    st, _ = await post(http, f"{broker.url}/{NS}/later", binary_headers(id_="l1"))
    assert st == 202
    await sink.wait_for("/early", 1)
    st, _ = await post(http, f"{broker.url}/{NS}/default", binary_headers(id_="d1"))
    assert st == 202
    await broker.settled()
    assert sink.at("/bad") == []


async def test_structured_reply_is_reingested(broker: Broker, sink: Sink,
                                              http: aiohttp.ClientSession) -> None:
    async def structured(rec: Received, n: int) -> web.Response:
        body = ('{"specversion":"1.0","id":"sr","source":"/r","type":"reply",'
                '"datacontenttype":"application/json","data":{"ok":true}}')
        return web.Response(status=200, text=body,
                            content_type="application/cloudevents+json")
    sink.behaviours["/first"] = structured
    await start(broker, [broker_spec()], [
        trigger("first", sink.url("/first"), filter={"attributes": {"type": "orig"}}),
        trigger("replies", sink.url("/replies"), filter={"attributes": {"type": "reply"}})])
    await send(http, broker, "o", "orig")
    (r,) = await sink.wait_for("/replies", 1)
    assert r.ce["id"] == "sr" and r.body == b'{"ok":true}'
    assert "knativearrivaltime" in r.ce


async def test_a_failing_trigger_does_not_hold_back_another(
        broker: Broker, sink: Sink, http: aiohttp.ClientSession) -> None:
    sink.behaviours["/down"] = status_then_ok(503, times=10_000)
    await start(broker, [broker_spec(retry=50, backoffDelay="PT0.5S")],
                [trigger("down", sink.url("/down"), concurrency=2),
                 trigger("up", sink.url("/up"), concurrency=2)])
    for i in range(40):
        await send(http, broker, f"p{i}", "x")
    got = await sink.wait_for("/up", 40, wait=20)  # per-trigger progress
    assert len({r.ce["id"] for r in got}) == 40


async def test_ordering_per_partition_key_survives_retries(
        broker: Broker, sink: Sink, http: aiohttp.ClientSession) -> None:
    failed: set[str] = set()

    async def first_try_of_k1_0_fails(rec: Received, n: int) -> web.Response:
        if rec.ce["id"] == "k1-0" and "k1-0" not in failed:
            failed.add("k1-0")
            return web.Response(status=503)
        return web.Response(status=200)
    sink.behaviours["/ordered"] = first_try_of_k1_0_fails
    await start(broker, [broker_spec(retry=3, backoffDelay="PT0.3S")], [
        trigger("ordered", sink.url("/ordered"), ordering="partitionkey", concurrency=8),
    ])
    for i in range(5):
        for key in ("k1", "k2"):
            await send(http, broker, f"{key}-{i}", "x", ce_partitionkey=key)
    got = await sink.wait_for("/ordered", 11)
    seq = [r.ce["id"] for r in got]
    for key in ("k1", "k2"):
        mine = [e for e in seq if e.startswith(key)]
        # k1-0 appears twice (failed, then retried) and nothing of k1 overtakes it
        want = [f"{key}-{i}" for i in range(5)]
        if key == "k1":
            want = ["k1-0", *want]
        assert mine == want, (key, seq)
    # k2 is not held back by k1's retry (it waits 0.3 s before trying k1-0 again)
    assert seq.index("k2-4") < len(seq) - 1 - seq[::-1].index("k1-0"), seq
