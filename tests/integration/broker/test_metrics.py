"""The broker's GET /metrics (--metrics-port) after real events through ingress ->
JetStream -> dispatcher -> subscriber, as two processes."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from tests.integration.broker.conftest import Broker, Received, Sink, binary_headers, post
from tests.integration.broker.test_acceptance import NS, broker_spec, trigger
from tests.support.procs import free_port
from tests.support.prom import scrape, value


async def test_ingress_and_dispatch_counted(broker: Broker, sink: Sink,
                                           http: aiohttp.ClientSession) -> None:
    async def flaky(rec: Received, n: int) -> web.Response:
        return web.Response(status=503 if n == 1 else 200)

    async def refuse(status: int):
        async def b(rec: Received, n: int) -> web.Response:
            return web.Response(status=status)
        return b
    sink.behaviours["/flaky"] = flaky
    sink.behaviours["/bad"] = await refuse(422)
    sink.behaviours["/gone"] = await refuse(400)
    broker.write([broker_spec(retry=2, backoffDelay="PT0.02S",
                              deadLetterSink={"uri": sink.url("/dls")}),
                  broker_spec("other")],
                 [trigger("ok", sink.url("/ok"), filter={"attributes": {"type": "ok"}}),
                  trigger("flaky", sink.url("/flaky"), filter={"attributes": {"type": "fl"}}),
                  trigger("bad", sink.url("/bad"), filter={"attributes": {"type": "bad"}}),
                  trigger("drop", sink.url("/gone"), broker="other")])
    ports = {}
    for role in ("dispatcher", "ingress"):
        ports[role] = free_port()
        broker.extra = ["--metrics-port", str(ports[role])]
        broker.start(role)
    for t in ("ok", "flaky", "bad", "drop"):
        await broker.wait_log("dispatcher", f"trigger {NS}/{t} ->")
    await broker.wait_log("ingress", "contract applied")

    url = f"{broker.url}/{NS}/default"
    for i, t in enumerate(("ok", "ok", "fl", "bad")):
        assert (await post(http, url, binary_headers(id_=str(i), type_=t)))[0] == 202
    assert (await post(http, f"{broker.url}/{NS}/other", binary_headers(id_="x")))[0] == 202
    assert (await post(http, url, {"Content-Type": "application/json"}))[0] == 400
    assert (await post(http, f"{broker.url}/{NS}/nope", binary_headers()))[0] == 404
    await sink.wait_for("/dls", 1)
    await sink.wait_for("/flaky", 2)
    await broker.settled()

    ing = await scrape(http, f"http://127.0.0.1:{ports['ingress']}/metrics")
    assert value(ing, "broker_events_accepted_total", namespace=NS, broker="default") == 4
    assert value(ing, "broker_events_accepted_total", namespace=NS, broker="other") == 1
    assert value(ing, "broker_events_rejected_total", namespace=NS, broker="default",
                 response_code="400") == 1
    assert value(ing, "broker_events_rejected_total", namespace="", broker="",
                 response_code="404") == 1

    d = await scrape(http, f"http://127.0.0.1:{ports['dispatcher']}/metrics")

    def trig(name: str, metric: str, **labels: str) -> float:
        b = "other" if name == "drop" else "default"
        return value(d, metric, namespace=NS, broker=b, trigger=name, **labels)

    assert trig("ok", "broker_events_delivered_total") == 2
    assert trig("flaky", "broker_events_delivered_total") == 1
    assert trig("flaky", "broker_delivery_retries_total") == 1
    assert trig("bad", "broker_events_dead_lettered_total") == 1
    assert trig("bad", "broker_events_delivered_total") == 0
    assert trig("drop", "broker_events_dropped_total") == 1
    assert trig("flaky", "broker_dispatch_duration_seconds_count",
                response_code_class="5xx") == 1
    assert trig("flaky", "broker_dispatch_duration_seconds_count",
                response_code_class="2xx") == 1
    assert trig("bad", "broker_dispatch_duration_seconds_count",
                response_code_class="4xx") == 1
    assert trig("ok", "broker_dispatch_duration_seconds_bucket", response_code_class="2xx",
                le="+Inf") == 2
