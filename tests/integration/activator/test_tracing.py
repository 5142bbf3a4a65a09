"""Tracing across real processes: the gateway (standalone, --config FILE) -> activator ->
queue-proxy -> user app, spans collected by an OTLP/HTTP collector run here on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import yaml

from tests.integration.activator.conftest import ROUTE, Stack, get, until_status
from tests.support import otlp
from tests.support.otlp import Collector
from tests.support.poll import eventually
from tests.support.procs import free_port, python_module
from tests.unit.ingress.test_filesource import config

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_SPAN = "00f067aa0ba902b7"
OTHER_TRACE = "0af7651916cd43dd8448eb211c80319c"


@pytest.fixture
async def collector() -> AsyncIterator[Collector]:
    async with otlp.collector() as c:
        yield c


async def test_one_span_per_hop_chained_to_the_app(
        stack: Stack, collector: Collector, tmp_path: Path) -> None:
    spans = collector
    # Rate 0: only ParentBased sampling lets the client's sampled trace through, so the
    # probing requests below export nothing.
    env = {"OBSERVABILITY_CONFIG": json.dumps({
               "tracing-protocol": "http/protobuf", "tracing-sampling-rate": "0",
               "tracing-endpoint": spans.url}),
           "OTEL_BSP_SCHEDULE_DELAY": "100"}
    app = stack.user_app()
    qp = stack.queue_proxy(app, env=env)
    act, _ = stack.activator("--revision", "default/hello", "--backend", f"127.0.0.1:{qp}",
                             env=env)
    routes = tmp_path / "gateway.yaml"
    routes.write_text(yaml.safe_dump_all(config(act)))  # r.ns.example.com -> the activator
    gw = free_port()
    stack._start("gateway", python_module(
        "knpy.ingress", "--config", str(routes), "--host", "127.0.0.1", "--port", str(gw),
        "--internal-port", "0", "--probe-port", "0"), gw, env)
    base = f"http://127.0.0.1:{gw}"
    host = {"Host": "r.ns.example.com"}
    async with aiohttp.ClientSession() as s:
        await until_status(s, base + "/", 200, 15, {**ROUTE, **host})
        # no parent at rate 0: a new unsampled trace starts here
        status, body = await get(s, base + "/headers", {**ROUTE, **host})
        assert status == 200
        assert json.loads(body)["traceparent"][0].endswith("-00")
        # an unsampled parent: passed on with a new parent id, still unsampled, no span
        status, body = await get(s, base + "/headers", {
            **ROUTE, **host, "traceparent": f"00-{OTHER_TRACE}-{CLIENT_SPAN}-00"})
        assert status == 200
        (unsampled,) = json.loads(body)["traceparent"]
        version, trace_id, parent, flags = unsampled.split("-")
        assert (version, trace_id, flags) == ("00", OTHER_TRACE, "00")
        assert parent not in (CLIENT_SPAN, "0" * 16)
        status, body = await get(s, base + "/headers?x=1", {
            **ROUTE, **host, "traceparent": f"00-{TRACE_ID}-{CLIENT_SPAN}-01",
            "baggage": "tenant=acme"})
    assert status == 200
    seen = json.loads(body)

    async def every_hop() -> bool:
        return all(spans.of(h, TRACE_ID) for h in ("ingress", "activator", "queue-proxy"))
    await eventually(every_hop, 15, "spans of every hop exported")
    (g,) = spans.of("ingress", TRACE_ID)
    (a,) = spans.of("activator", TRACE_ID)
    (q,) = spans.of("queue-proxy", TRACE_ID)
    assert g["parent"] == CLIENT_SPAN
    assert a["parent"] == g["span_id"]
    assert q["parent"] == a["span_id"]
    (app_parent,) = seen["traceparent"]
    assert app_parent == f"00-{TRACE_ID}-{q['span_id']}-01"
    assert seen["baggage"] == ["tenant=acme"]
    for sp in (g, a, q):
        assert sp["name"] == "GET" and sp["kind"] == 2  # SPAN_KIND_SERVER
        attrs = sp["attrs"]
        assert isinstance(attrs, dict)
        assert attrs["http.request.method"] == "GET" and attrs["url.path"] == "/headers"
        assert attrs["url.query"] == "x=1" and attrs["http.response.status_code"] == 200
        assert attrs["server.address"] == "r.ns.example.com"
    for sp in (a, q):
        attrs = sp["attrs"]
        assert isinstance(attrs, dict)
        assert attrs["knative.revision.name"] == "hello"
        assert attrs["k8s.namespace.name"] == "default"
    # nothing else was sampled: the probes and readiness retries ran at rate 0
    assert {s["trace_id"] for s in spans.spans} == {TRACE_ID}
