"""Every row of the ingress table (spec/eventing.md), against the real ingress + JetStream."""

from __future__ import annotations

import json

import aiohttp

from tests.integration.broker.conftest import Broker, Nats, Sink, binary_headers, post
from tests.integration.broker.test_acceptance import NS, broker_spec, start, trigger
from tests.support.poll import eventually


async def accepted_after_503s(http: aiohttp.ClientSession, url: str, id_: str) -> bool:
    """One attempt while the store comes back: 202 ends the wait, anything but 503 fails."""
    st, _ = await post(http, url, binary_headers(id_=id_))
    assert st in (202, 503), st
    return st == 202


async def test_ingress_table(broker: Broker, sink: Sink, http: aiohttp.ClientSession) -> None:
    broker.extra = ["--max-event-bytes", str(128 * 1024)]
    await start(broker, [broker_spec()], [trigger("all", sink.url("/all"))])
    url = f"{broker.url}/{NS}/default"

    async with http.options(url) as r:
        assert r.status == 200
        assert r.headers["Allow"] == "POST, OPTIONS"
        assert r.headers["WebHook-Allowed-Origin"] == "*"
        assert r.headers["WebHook-Allowed-Rate"] == "*"
    for method in ("GET", "PUT", "DELETE", "PATCH"):
        async with http.request(method, url) as r:
            assert r.status == 405, method
    assert (await post(http, f"{broker.url}/", binary_headers()))[0] == 404
    for bad in ("/default", "/a/b/c", "/default/"):
        assert (await post(http, broker.url + bad, binary_headers()))[0] == 400, bad
    # not a CloudEvent / invalid / batch
    assert (await post(http, url, {"Content-Type": "application/json"}, b"{}"))[0] == 400
    st, text = await post(http, url, binary_headers(ce_id=""))
    assert st == 400 and "id" in text
    st, text = await post(http, url, binary_headers(ce_source=""))
    assert st == 400 and "source" in text
    assert (await post(http, url, binary_headers(ce_type="")))[0] == 400
    assert (await post(http, url, binary_headers(ce_specversion="0.1")))[0] == 400
    assert (await post(http, url, {"Content-Type": "application/cloudevents+json"},
                       b"not json"))[0] == 400
    batch = json.dumps([{"specversion": "1.0", "id": "1", "source": "/s", "type": "t"}])
    assert (await post(http, url, {"Content-Type": "application/cloudevents-batch+json"},
                       batch.encode()))[0] == 400
    # unknown broker
    assert (await post(http, f"{broker.url}/{NS}/nope", binary_headers()))[0] == 404
    assert (await post(http, f"{broker.url}/other/default", binary_headers()))[0] == 404
    # TTL
    for ttl in ("1", "0", "-3"):
        st, text = await post(http, url, binary_headers(ce_knativebrokerttl=ttl))
        assert st == 400 and "knativebrokerttl" in text
    assert (await post(http, url, binary_headers(ce_knativebrokerttl="abc")))[0] == 400
    assert (await post(http, url, binary_headers(id_="ttl2", ce_knativebrokerttl="2")))[0] \
        == 202
    # size: 64 KiB passes, above the configured limit is 413
    big = b"z" * (64 * 1024)
    assert (await post(http, url, binary_headers(id_="64k"), big))[0] == 202
    assert (await post(http, url, binary_headers(id_="huge"), b"z" * (128 * 1024 + 1)))[0] \
        == 413
    got = {r.ce["id"]: r for r in await sink.wait_for("/all", 2)}
    assert got["64k"].body == big
    assert "knativebrokerttl" not in got["ttl2"].ce


async def test_percent_decoded_headers_and_case_insensitive_names(
        broker: Broker, sink: Sink, http: aiohttp.ClientSession) -> None:
    await start(broker, [broker_spec()], [
        trigger("t", sink.url("/t"), filter={"attributes": {"subject": "ä b"}})])
    h = {"CE-SPECVERSION": "1.0", "Ce-Id": "p1", "ce-Source": "/s", "CE-type": "t",
         "ce-subject": "%C3%A4%20b"}
    assert (await post(http, f"{broker.url}/{NS}/default", h))[0] == 202
    (r,) = await sink.wait_for("/t", 1)
    assert r.ce["subject"] == "%C3%A4%20b" and r.ce["id"] == "p1"


async def test_503_when_the_store_is_down_never_202(
        broker: Broker, nats: Nats, sink: Sink, http: aiohttp.ClientSession) -> None:
    broker.extra = ["--publish-timeout", "1"]
    await start(broker, [broker_spec()], [trigger("all", sink.url("/all"))])
    url = f"{broker.url}/{NS}/default"
    assert (await post(http, url, binary_headers(id_="before")))[0] == 202
    nats.stop()
    statuses = [(await post(http, url, binary_headers(id_=f"down{i}")))[0] for i in range(3)]
    assert statuses == [503, 503, 503]
    nats.start()
    await eventually(lambda: accepted_after_503s(http, url, "after"), 15,
                     "the ingress reconnected on its own", every=0.1)
    got = {r.ce["id"] for r in await sink.wait_for("/all", 2, wait=30)}
    assert {"before", "after"} <= got


async def test_a_wiped_store_is_rebuilt_by_the_periodic_resync(
        broker: Broker, nats: Nats, sink: Sink, http: aiohttp.ClientSession) -> None:
    import shutil

    broker.extra = ["--publish-timeout", "1", "--resync-interval", "1"]
    await start(broker, [broker_spec()], [trigger("all", sink.url("/all"))])
    url = f"{broker.url}/{NS}/default"
    nats.stop()
    shutil.rmtree(nats.store_dir)  # the stream and the consumer are gone
    nats.start()
    # never 2xx while the stream is missing
    await eventually(lambda: accepted_after_503s(http, url, "again"), 15,
                     "the stream rebuilt", every=0.1)
    (r,) = await sink.wait_for("/all", 1, wait=20)
    assert r.ce["id"] == "again"


async def test_same_source_and_id_within_the_window_is_stored_once(
        broker: Broker, sink: Sink, http: aiohttp.ClientSession) -> None:
    await start(broker, [broker_spec()], [trigger("all", sink.url("/all"))])
    url = f"{broker.url}/{NS}/default"
    for h in (binary_headers(id_="x"), binary_headers(id_="x"),  # a producer's retry
              binary_headers(id_="x", source="/other"), binary_headers(id_="y")):
        assert (await post(http, url, h))[0] == 202
    await sink.wait_for("/all", 3)
    await broker.settled()  # a second copy of x would have arrived by now
    got = sorted((r.ce["source"], r.ce["id"]) for r in sink.at("/all"))
    assert got == [("/other", "x"), ("/test", "x"), ("/test", "y")]


async def test_dedup_window_zero_stores_every_copy(
        broker: Broker, sink: Sink, http: aiohttp.ClientSession) -> None:
    broker.extra = ["--dedup-window", "0"]
    await start(broker, [broker_spec()], [trigger("all", sink.url("/all"))])
    for _ in range(2):
        assert (await post(http, f"{broker.url}/{NS}/default", binary_headers(id_="x")))[0] \
            == 202
    await sink.wait_for("/all", 2)
