"""Sequence and Parallel on the broker data plane, standalone (contract file, real
nats-server, ingress and dispatcher as separate processes; steps, filters and sinks are
HTTP servers on 127.0.0.1): the channels and Subscriptions children.py builds for a flow,
written into the contract as the controller writes them, carry an event through step 1 then
step 2 (each changes it and replies) to the final reply, and through the branches of a
Parallel whose filters pass it, a branch without a filter included.

In a cluster a reply to a channel goes to `<channel>-kn-channel.<ns>.svc...`, an
ExternalName Service of the broker ingress. Here `Resolver` stands in for that DNS name: a
channel resolves to an HTTP forwarder on 127.0.0.1 that re-sends the request to the
ingress with the channel's Host (what the ingress routes on)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from knpy.controller.flows.children import parallel_children, sequence_children
from tests.integration.broker.conftest import Broker, Received, Sink, binary_headers, post
from tests.integration.broker.test_acceptance import start as start_broker
from tests.support.procs import free_port

pytestmark = pytest.mark.timeout(60)
NS = "default"
FLOWS = "flows.knative.dev/v1"
IMC = {"apiVersion": "messaging.knative.dev/v1", "kind": "InMemoryChannel"}


def host(channel: str) -> str:
    return f"{channel}-kn-channel.{NS}.svc.cluster.local"


class Resolver:
    """Destinations to URIs as the Subscription reconciler resolves them, a channel ref to a
    forwarder that plays its Service (see the module doc)."""

    def __init__(self, ingress: str) -> None:
        self.ingress = ingress
        self.port = free_port()
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._http is not None
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() not in ("host", "content-length")}
        headers["Host"] = host(request.match_info["channel"])
        async with self._http.post(self.ingress + "/", headers=headers,
                                   data=await request.read()) as r:
            return web.Response(status=r.status, body=await r.read())

    async def start(self) -> None:
        self._http = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_post("/{channel}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._http is not None:
            await self._http.close()

    def uri(self, dest: dict | None) -> str | None:
        if not dest:
            return None
        ref = dest.get("ref")
        if ref is None:
            return dest["uri"]
        assert ref["kind"] == "InMemoryChannel", ref
        return f"http://127.0.0.1:{self.port}/{ref['name']}"

    def contract(self, channels: list[dict], subscriptions: list[dict]) -> dict:
        """The contract's channel sections for these children (docs/channels.md)."""
        subs = []
        for s in subscriptions:
            entry = {"namespace": NS, "name": s["metadata"]["name"],
                     "channel": s["spec"]["channel"]["name"]}
            for k in ("subscriber", "reply"):
                if (uri := self.uri(s["spec"].get(k))) is not None:
                    entry[k] = {"uri": uri}
            subs.append(entry)
        return {"channels": [{"namespace": NS, "name": c["metadata"]["name"]}
                             for c in channels], "subscriptions": subs}


@pytest.fixture
async def resolver(broker: Broker) -> AsyncIterator[Resolver]:
    r = Resolver(broker.url)
    await r.start()
    yield r
    await r.stop()


def step(tag: str):
    """A step: replies with the event it got, its type and data marked with `tag`."""
    async def handle(rec: Received, _n: int) -> web.Response:
        h = {k: v for k, v in rec.headers.items()
             if k.lower().startswith("ce-") and k.lower() != "ce-knativearrivaltime"}
        h["ce-type"] = f"{rec.headers['ce-type']}.{tag}"
        return web.Response(status=200, body=rec.body + f"+{tag}".encode(),
                            headers={**h, "Content-Type": rec.headers["Content-Type"]})
    return handle


async def drop(_rec: Received, _n: int) -> web.Response:
    return web.Response(status=200)  # a filter that replies nothing excludes the event


def owner(kind: str, name: str, **spec: object) -> dict:
    return {"apiVersion": FLOWS, "kind": kind,
            "metadata": {"name": name, "namespace": NS, "uid": f"{name}-uid"},
            "spec": {"channelTemplate": IMC, **spec}}


async def test_event_passes_two_steps_then_reaches_the_reply(
        broker: Broker, resolver: Resolver, sink: Sink, http: aiohttp.ClientSession) -> None:
    sink.behaviours["/step1"] = step("step1")
    sink.behaviours["/step2"] = step("step2")
    kids = sequence_children(owner("Sequence", "seq", reply={"uri": sink.url("/end")}, steps=[
        {"uri": sink.url("/step1")}, {"uri": sink.url("/step2")}]))
    await start_broker(broker, [], [], **resolver.contract(kids.channels, kids.subscriptions))
    status, body = await post(http, broker.url + "/", {
        **binary_headers(id_="e1", type_="order"), "Host": host("seq-kn-sequence-0")},
        b'"x"')
    assert status == 202, body
    [end] = await sink.wait_for("/end", 1)
    assert end.body == b'"x"+step1+step2'
    assert end.headers["ce-type"] == "order.step1.step2" and end.headers["ce-id"] == "e1"
    [second] = sink.at("/step2")
    assert second.body == b'"x"+step1' and second.headers["ce-type"] == "order.step1"
    await broker.settled()
    assert [len(sink.at(p)) for p in ("/step1", "/step2", "/end")] == [1, 1, 1]


async def test_parallel_branches_whose_filter_passes_get_the_event(
        broker: Broker, resolver: Resolver, sink: Sink, http: aiohttp.ClientSession) -> None:
    sink.behaviours["/pass"] = step("passed")
    sink.behaviours["/drop"] = drop
    for name in ("a", "b", "c"):
        sink.behaviours[f"/{name}"] = step(name)
    kids = parallel_children(owner("Parallel", "par", reply={"uri": sink.url("/r")}, branches=[
        {"filter": {"uri": sink.url("/pass")}, "subscriber": {"uri": sink.url("/a")}},
        {"filter": {"uri": sink.url("/drop")}, "subscriber": {"uri": sink.url("/b")}},
        {"subscriber": {"uri": sink.url("/c")}, "reply": {"uri": sink.url("/rc")}}]))
    await start_broker(broker, [], [], **resolver.contract(kids.channels,
                                                           kids.all_subscriptions))
    status, body = await post(http, broker.url + "/", {
        **binary_headers(id_="e1", type_="order"), "Host": host("par-kn-parallel")}, b'"x"')
    assert status == 202, body
    [r] = await sink.wait_for("/r", 1)
    assert r.body == b'"x"+passed+a' and r.headers["ce-type"] == "order.passed.a"
    [rc] = await sink.wait_for("/rc", 1)  # no filter: straight to the subscriber
    assert rc.body == b'"x"+c'
    await sink.wait_for("/drop", 1)
    await broker.settled()
    await asyncio.sleep(0.5)  # an excluded event would have reached /b by now
    assert sink.at("/b") == [] and len(sink.at("/r")) == 1
