"""Channels on the broker data plane, standalone (contract file, real nats-server, ingress
and dispatcher as separate processes): every subscriber gets every event, a failing
subscriber dead-letters without holding up the other, replies go to the reply URI, and
SIGKILLs of the dispatcher and of the ingress and a nats-server restart mid-stream lose
nothing."""

from __future__ import annotations

import asyncio
import collections
import time

import aiohttp
import pytest
from aiohttp import web

from tests.integration.broker.conftest import Broker, Nats, Sink, binary_headers, post
from tests.integration.broker.test_acceptance import start as start_broker
from tests.integration.broker.test_faults import faults_mid_stream, produce
from tests.support.poll import eventually

NS = "default"
HOST = {"Host": f"events-kn-channel.{NS}.svc.cluster.local"}


def subscription(name: str, subscriber: str | None = None, **extra: object) -> dict:
    s: dict = {"namespace": NS, "name": name, "channel": "events", **extra}
    if subscriber:
        s["subscriber"] = {"uri": subscriber}
    return s


async def start(broker: Broker, subs: list[dict], **channel: object) -> None:
    await start_broker(broker, [], [], subscriptions=subs,
                       channels=[{"namespace": NS, "name": "events", **channel}])


async def test_two_subscriptions_each_get_every_event_and_replies_reach_the_reply(
        broker: Broker, sink: Sink, http: aiohttp.ClientSession) -> None:
    async def echo(rec, n):
        return web.Response(status=200, body=b"r", headers={
            "ce-specversion": "1.0", "ce-id": "r-" + rec.headers["ce-id"],
            "ce-source": "/echo", "ce-type": "reply"})
    sink.behaviours["/a"] = echo
    await start(broker, [subscription("a", sink.url("/a"), reply={"uri": sink.url("/reply")}),
                         subscription("b", sink.url("/b"))])
    ids = [f"e{i}" for i in range(50)]
    for eid in ids:
        status, body = await post(http, broker.url + "/", {**binary_headers(id_=eid), **HOST})
        assert status == 202, body
    # an unknown channel is a 404, a broker path on the channel's ingress still routes
    status, body = await post(http, broker.url + "/", {
        **binary_headers(), "Host": f"nope-kn-channel.{NS}.svc.cluster.local"})
    assert status == 404 and f"nope-kn-channel.{NS}" in body
    await sink.wait_for("/a", 50)
    await sink.wait_for("/b", 50)
    await sink.wait_for("/reply", 50)
    await broker.settled()
    for path in ("/a", "/b"):
        assert sorted(r.headers["ce-id"] for r in sink.at(path)) == sorted(ids), path
    assert sorted(r.headers["ce-id"] for r in sink.at("/reply")) == sorted(
        f"r-{e}" for e in ids)
    first = sink.at("/b")[0]
    assert first.headers["Kn-Namespace"] == NS and "ce-knativebrokerttl" not in first.headers


async def test_failing_subscriber_dead_letters_without_holding_up_the_other(
        broker: Broker, sink: Sink, http: aiohttp.ClientSession) -> None:
    async def fail(rec, n):
        return web.Response(status=503, text="down")
    sink.behaviours["/bad"] = fail
    await start(broker, [
        subscription("bad", sink.url("/bad"),
                     delivery={"retry": 2, "backoffDelay": "PT0.5S"}),
        subscription("good", sink.url("/good"))],
        delivery={"deadLetterSink": {"uri": sink.url("/dls")}})
    t0 = time.monotonic()
    ids = [f"e{i}" for i in range(20)]
    for eid in ids:
        assert (await post(http, broker.url + "/", {**binary_headers(id_=eid), **HOST}))[0] \
            == 202
    await sink.wait_for("/good", 20)
    good_done = time.monotonic() - t0
    dls = await sink.wait_for("/dls", 20, wait=30)
    # the good subscriber was served while the bad one was still retrying (0.5 s + 1 s)
    assert good_done < min(r.at for r in dls) - t0, (good_done, dls[0].at - t0)
    assert {r.headers["ce-knativeerrordest"] for r in dls} == {sink.url("/bad")}
    assert {r.headers["ce-knativeerrorcode"] for r in dls} == {"503"}
    await broker.settled()
    assert len(sink.at("/bad")) == 60  # 1 + 2 retries each
    assert sorted(r.headers["ce-id"] for r in dls) == sorted(ids)


@pytest.mark.slow
async def test_kill_dispatcher_then_ingress_and_restart_nats_mid_stream(
        broker: Broker, nats: Nats, sink: Sink) -> None:
    # the same bar as the broker's fault test: a SIGKILL repeats up to a subscription's
    # concurrency (64) plus unflushed acks, so 1% needs 10,000 events
    n = 10_000

    async def slowish(rec, _n):  # deliveries are in flight at the kill
        await asyncio.sleep(0.01)
        return web.Response(status=200)
    for path in ("/a", "/b"):
        sink.behaviours[path] = slowish
    broker.extra = ["--backoff-cap", "1", "--publish-timeout", "2"]
    await start(broker, [subscription("a", sink.url("/a")), subscription("b", sink.url("/b"))],
                delivery={"retry": 10, "backoffDelay": "PT0.2S", "timeout": "PT2S"})
    accepted: list[str] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
        producer = asyncio.create_task(produce(http, broker.url + "/", n, accepted,
                                               headers=HOST))
        await faults_mid_stream(broker, nats, accepted, lambda: len(sink.at("/a")) >= 500)
        await asyncio.wait_for(producer, 120)
    want = set(accepted)
    assert len(want) == n
    for path in ("/a", "/b"):
        await eventually(lambda p=path: want <= {r.headers["ce-id"] for r in sink.at(p)},
                         60, every=0.1)
    await broker.settled(30)
    for path in ("/a", "/b"):
        got = collections.Counter(r.headers["ce-id"] for r in sink.at(path))
        duplicates = sum(c - 1 for c in got.values())
        print(f"\nCHANNEL_FAULTS {path} accepted={len(want)} lost={len(want - set(got))} "
              f"duplicates={duplicates} ({100 * duplicates / n:.2f}%)")
        assert not want - set(got)
        assert duplicates < 0.01 * n
