"""Channels on the broker data plane: the contract's channels/subscriptions sections, the
ingress's Host routing, and the dispatcher's fan-out, reply forwarding and dead-lettering
(test-only memory store, real local HTTP subscribers)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from knpy.broker import admission, jetstream, record
from knpy.broker.dispatcher import Dispatcher
from knpy.broker.ingress import Ingress
from knpy.broker.settings import Settings
from knpy.runtime import cloudevents as ce
from knpy.runtime.config import FieldError
from knpy.runtime.contract import eventing
from tests.support.memstore import MemoryStore
from tests.support.poll import eventually
from tests.unit.broker.test_dispatcher_memstore import run

CHANNEL_KEY = "channel/ns/ch"


def test_channels_and_subscriptions_parse_with_their_own_keys() -> None:
    c = eventing.loads("""
brokers: [{namespace: ns, name: ch}]
triggers: [{namespace: ns, name: s1, broker: ch, subscriber: "http://t/"}]
channels: [{namespace: ns, name: ch}]
subscriptions:
  - {namespace: ns, name: s1, channel: ch, subscriber: {uri: "http://a/"},
     reply: {uri: "http://r/"}, delivery: {retry: 2}}
  - {namespace: ns, name: s2, channel: ch, reply: "http://r2/"}
""")
    # a broker and a channel of one name, a trigger and a subscription: four distinct keys
    assert [b.key for b in c.brokers] == ["ns/ch", CHANNEL_KEY]
    assert [t.key for t in c.triggers] == ["ns/s1", "subscription/ns/s1",
                                           "subscription/ns/s2"]
    s1, s2 = c.triggers[1], c.triggers[2]
    assert s1.broker_key == CHANNEL_KEY and s1.reply == "http://r/"
    # reply only: the events themselves go to the reply
    assert (s2.subscriber, s2.reply) == ("http://r2/", None)
    assert c.broker(CHANNEL_KEY).delivery.retry is None  # channels: no retries by default
    assert [t.key for t in c.triggers_of(CHANNEL_KEY)] == ["subscription/ns/s1",
                                                           "subscription/ns/s2"]


def test_subscription_errors_have_field_paths() -> None:
    with pytest.raises(FieldError) as e:
        eventing.loads("""
channels: [{namespace: ns, name: ch, delivery: {retry: -1}}]
subscriptions:
  - {namespace: ns, name: s1, channel: ch}
  - {namespace: ns, name: s2, channel: ch, subscriber: "http://a/", bogus: 1}
""")
    text = str(e.value)
    assert "channels[0].delivery.retry" in text
    assert "subscriptions[0].reply" in text and "subscriptions[0].subscriber" in text
    assert "subscriptions[1].bogus" in text


def test_store_names_keep_brokers_and_channels_apart() -> None:
    assert jetstream.stream_name("ns/b") == "broker_ns_b"  # unchanged for brokers
    assert jetstream.stream_name(CHANNEL_KEY) == "channel_ns_ch"
    assert jetstream.subject(CHANNEL_KEY) == "knpy.channel.ns.ch"
    assert jetstream.consumer_name("subscription/ns/a.b") == "ns_a_b"
    assert jetstream.consumer_name("ns/t") == "ns_t"


LONG = "c" * 63  # rekt's channels: <name>-kn-channel would be 74 characters
LONG_SERVICE = "ccccccccccccccccccccbc1cbc032f9b2a1fa2ae54f8576beb7e-kn-channel"
CONTRACT = f"""
channels:
  - {{namespace: ns, name: ch}}
  - {{namespace: other, name: my-ch, service: my-ch-kn-channel}}
  - {{namespace: ns, name: {LONG}, service: {LONG_SERVICE}}}
"""


@pytest.mark.parametrize(("host", "key"), [
    (b"ch-kn-channel.ns.svc.cluster.local", CHANNEL_KEY),
    (b"ch-kn-channel.ns.svc.cluster.local:80", CHANNEL_KEY),
    (b"ch-kn-channel.ns", CHANNEL_KEY),
    (b"ch-kn-channel.ns:8080", CHANNEL_KEY),
    (b"CH-kn-channel.NS.svc", CHANNEL_KEY),
    (b"my-ch-kn-channel.other.svc", "channel/other/my-ch"),
    (f"{LONG_SERVICE}.ns.svc.cluster.local".encode(), f"channel/ns/{LONG}"),
    (f"{LONG}-kn-channel.ns.svc.cluster.local".encode(), None),  # not its Service
    (b"ch-kn-channel.other", None),  # another namespace
    (b"-kn-channel.ns", None),
    (b"ch-kn-channel", None),
    (b"ch-kn-channel:80", None),
    (b"broker-ingress.knpy-system.svc.cluster.local", None),
    (b"", None),
    (None, None),
])
def test_channel_found_by_the_service_its_contract_entry_names(
        host: bytes | None, key: str | None) -> None:
    i = Ingress(MemoryStore(), 65536)
    i.set_contract(eventing.loads(CONTRACT))
    assert i.channel_key(host) == key


def test_a_channel_entry_without_a_service_gets_knatives_short_name() -> None:
    c = eventing.loads(CONTRACT)
    assert [b.service for b in c.brokers] == ["ch-kn-channel", "my-ch-kn-channel",
                                              LONG_SERVICE]
    with pytest.raises(FieldError, match=r"channels\[0\]\.service"):
        eventing.loads(f"channels: [{{namespace: ns, name: ch, service: {LONG}-kn-channel}}]")
    with pytest.raises(FieldError, match=r"channels\[0\]\.service"):  # Knative's keep it
        eventing.loads("channels: [{namespace: ns, name: ch, service: ch-svc}]")
    with pytest.raises(FieldError, match=r"brokers\[0\]\.service"):
        eventing.loads("brokers: [{namespace: ns, name: b, service: b-kn-channel}]")


async def test_ingress_routes_by_host_and_404s_unknown_channels() -> None:
    store = MemoryStore()
    await store.ensure_broker(CHANNEL_KEY)
    i = Ingress(store, 65536)
    i.set_contract(eventing.loads("channels: [{namespace: ns, name: ch}]"))
    hdrs = [("ce-specversion", "1.0"), ("ce-id", "1"), ("ce-source", "/s"), ("ce-type", "t")]
    key = i.precheck("POST", "/", b"ch-kn-channel.ns.svc.cluster.local")
    assert key == CHANNEL_KEY
    assert (await i.accept(key, hdrs, b"x"))[0] == 202
    status, _, text = i.precheck("POST", "/", b"nope-kn-channel.ns.svc.cluster.local")
    assert status == 404 and "nope-kn-channel.ns" in text
    assert i.precheck("POST", "/", b"broker-ingress")[0] == 404  # a broker ingress rule
    assert i.precheck("GET", "/", b"ch-kn-channel.ns")[0] == 405


class Sink:
    """Records every request per path; scripted statuses; /echo replies with an event."""

    def __init__(self) -> None:
        self.calls: dict[str, list[tuple[dict[str, str], bytes]]] = {}
        self.status: dict[str, list[int]] = {}

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.calls.setdefault(request.path, []).append((dict(request.headers), body))
        script = self.status.get(request.path, [])
        status = script.pop(0) if script else 200
        if request.path == "/echo" and status == 200:
            return web.Response(status=200, body=b"r", headers={
                "ce-specversion": "1.0", "ce-id": "r-" + request.headers["ce-id"],
                "ce-source": "/echo", "ce-type": "reply"})
        return web.Response(status=status)

    def ids(self, path: str) -> list[str]:
        return [h["ce-id"] for h, _ in self.calls.get(path, [])]


@pytest.fixture
async def sink() -> AsyncIterator[tuple[Sink, str]]:
    s = Sink()
    app = web.Application()
    app.router.add_route("*", "/{p:.*}", s.handle)
    async with TestServer(app, host="127.0.0.1") as server:
        yield s, str(server.make_url("")).rstrip("/")


async def dispatch(contract_yaml: str, n: int, store: MemoryStore) -> Dispatcher:
    d = await run(contract_yaml, [], store, Settings(contract=Path("x")))
    for k in range(n):
        ev = ce.make_event({"specversion": "1.0", "id": f"e{k}", "source": "/s",
                            "type": "t"}, b"d")
        await store.append(CHANNEL_KEY, record.encode(admission.admit(ev)))
    return d


async def test_every_subscriber_gets_every_event_and_replies_go_to_the_reply(sink) -> None:
    s, base = sink
    store = MemoryStore()
    d = await dispatch(f"""
channels: [{{namespace: ns, name: ch}}]
subscriptions:
  - {{namespace: ns, name: a, channel: ch, subscriber: "{base}/echo", reply: "{base}/reply"}}
  - {{namespace: ns, name: b, channel: ch, subscriber: "{base}/b"}}
  - {{namespace: ns, name: c, channel: ch, subscriber: "{base}/echo"}}
""", 5, store)
    try:
        want = [f"e{k}" for k in range(5)]
        await eventually(lambda: sorted(s.ids("/b")) == want
                         and sorted(s.ids("/reply")) == [f"r-{e}" for e in want])
        assert sorted(s.ids("/echo")) == sorted(want * 2)
        h, _ = s.calls["/echo"][0]
        assert h["Prefer"] == "reply" and h["Kn-Namespace"] == "ns"
        assert "ce-knativebrokerttl" not in h
        # the reply is not put back into the channel: /b saw only the 5 originals
        await asyncio.sleep(0.3)
        assert len(s.ids("/b")) == 5
    finally:
        await d.close()


async def test_failing_subscriber_dead_letters_without_holding_up_the_other(sink) -> None:
    s, base = sink
    s.status["/bad"] = [500] * 100
    s.status["/reply"] = [422]
    store = MemoryStore()
    d = await dispatch(f"""
channels: [{{namespace: ns, name: ch, delivery: {{deadLetterSink: "{base}/dls"}}}}]
subscriptions:
  - {{namespace: ns, name: bad, channel: ch, subscriber: "{base}/bad",
     delivery: {{retry: 2, backoffDelay: PT0.01S}}}}
  - {{namespace: ns, name: good, channel: ch, subscriber: "{base}/good"}}
  - {{namespace: ns, name: rep, channel: ch, subscriber: "{base}/echo",
     reply: "{base}/reply"}}
""", 3, store)
    try:
        await eventually(lambda: len(s.ids("/dls")) == 4)  # 3 from /bad, 1 failed reply
        assert sorted(s.ids("/good")) == ["e0", "e1", "e2"]
        assert len(s.ids("/bad")) == 9  # 1 + retry 2 per event
        dests = sorted(h["ce-knativeerrordest"] for h, _ in s.calls["/dls"])
        assert dests == [f"{base}/bad"] * 3 + [f"{base}/reply"]
        codes = sorted(h["ce-knativeerrorcode"] for h, _ in s.calls["/dls"])
        assert codes == ["422", "500", "500", "500"]
    finally:
        await d.close()
