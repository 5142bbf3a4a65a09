"""An OTLP/HTTP trace collector on 127.0.0.1 for tests of tracing across real processes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.support.procs import free_port


class Collector:
    """Receives OTLP/HTTP protobuf exports; keeps each span as a flat dict."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/traces"

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
                                       "kind": sp.kind, "status": sp.status.code,
                                       "attrs": attrs})
        return web.Response(content_type="application/x-protobuf", body=b"")

    def of(self, service: str, trace_id: str) -> list[dict[str, Any]]:
        return [s for s in self.spans if s["service"] == service and s["trace_id"] == trace_id]


@asynccontextmanager
async def collector() -> AsyncIterator[Collector]:
    c = Collector()
    app = web.Application()
    app.router.add_post("/v1/traces", c.export)
    runner = web.AppRunner(app)
    await runner.setup()
    c.port = free_port()
    await web.TCPSite(runner, "127.0.0.1", c.port).start()
    try:
        yield c
    finally:
        await runner.cleanup()
