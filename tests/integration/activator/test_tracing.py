"""Tracing across real processes: the gateway (standalone, --config FILE) -> activator ->
queue-proxy -> user app, spans collected by an OTLP/HTTP collector run here on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import yaml
from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.integration.activator.conftest import ROUTE, Stack, get, until_status
from tests.support.poll import eventually
from tests.support.procs import free_port, python_module
from tests.unit.ingress.test_filesource import config

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_SPAN = "00f067aa0ba902b7"
OTHER_TRACE = "0af7651916cd43dd8448eb211c80319c"


class Collector:
    """Receives OTLP/HTTP protobuf exports; keeps each span as a flat dict."""

    def __init__(self) -> None:
        self.spans: list[dict[str, object]] = []

    async def export(self, request: web.Request) -> web.Response:
        msg = ExportTraceServiceRequest.FromString(await request.read())
        for rs in msg.resource_spans:
            res = {a.key: a.value.string_value for a in rs.resource.attributes}
            for ss in rs.scope_spans:
                for sp in ss.spans:
                    attrs = {a.key: (a.value.int_value if a.value.HasField("int_value")
                                     else a.value.string_value) for a in sp.attributes}
                    self.spans.append({"service": res.get("service.name"),
                                       "trace_id": sp.trace_id.hex(), "span_id": sp.span_id.hex(),
                                       "parent": sp.parent_span_id.hex(), "name": sp.name,
                                       "kind": sp.kind, "attrs": attrs})
        return web.Response(content_type="application/x-protobuf", body=b"")

    def of(self, service: str) -> list[dict[str, object]]:
        return [s for s in self.spans if s["service"] == service and s["trace_id"] == TRACE_ID]


@pytest.fixture
async def collector() -> AsyncIterator[tuple[Collector, int]]:
    c = Collector()
    app = web.Application()
    app.router.add_post("/v1/traces", c.export)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield c, port
    finally:
        await runner.cleanup()


async def test_one_span_per_hop_chained_to_the_app(
        stack: Stack, collector: tuple[Collector, int], tmp_path: Path) -> None:
    spans, port = collector
    # Rate 0: only ParentBased sampling lets the client's sampled trace through, so the
    # probing requests below export nothing.
    env = {"OBSERVABILITY_CONFIG": json.dumps({
               "tracing-protocol": "http/protobuf", "tracing-sampling-rate": "0",
               "tracing-endpoint": f"http://127.0.0.1:{port}/v1/traces"}),
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
        return all(spans.of(h) for h in ("ingress", "activator", "queue-proxy"))
    await eventually(every_hop, 15, "spans of every hop exported")
    (g,) = spans.of("ingress")
    (a,) = spans.of("activator")
    (q,) = spans.of("queue-proxy")
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
