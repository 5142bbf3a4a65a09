"""Admission spans: with a tracer the webhook makes one SERVER span per review, child of the
API server's traceparent, saying what was reviewed and the verdict."""

from __future__ import annotations

import ssl

import aiohttp
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from knpy.runtime.observability.otelops import OperationTracer
from knpy.runtime.observability.tracing import TracingSettings
from knpy.webhook.certs import generate
from knpy.webhook.server import make_server, ssl_context
from tests.unit.webhook.test_admission import H, review, trig

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


async def test_one_server_span_per_review() -> None:
    exporter = InMemorySpanExporter()
    tracer = OperationTracer(TracingSettings("stdout", "", 1.0, "webhook"), "knpy.webhook",
                             exporter)
    bundle = generate(["127.0.0.1"])
    server = make_server(lambda: H, tracer=tracer)
    port = await server.listen("127.0.0.1", 0, ssl=ssl_context(bundle))
    bad = review(trig(delivery={"retry": -1}))
    bad["request"].update(namespace="ns", name="t")
    try:
        client = ssl.create_default_context(cadata=bundle.ca_pem.decode())
        url = f"https://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as s:
            async with s.post(f"{url}/validation", json=bad, ssl=client, headers={
                    "traceparent": f"00-{TRACE_ID}-{PARENT}-01"}) as r:
                assert r.status == 200
            async with s.post(f"{url}/defaulting", json=review(trig()), ssl=client) as r:
                assert r.status == 200
            async with s.post(f"{url}/validation", data=b"{nope", ssl=client) as r:
                assert r.status == 400
            async with s.get(f"{url}/healthz", ssl=client) as r:
                assert r.status == 200
    finally:
        await server.close()
    denied, defaulted, broken = exporter.get_finished_spans()  # healthz: none
    assert (denied.name, denied.kind) == ("POST /validation", SpanKind.SERVER)
    assert f"{denied.context.trace_id:032x}" == TRACE_ID
    assert denied.parent is not None and f"{denied.parent.span_id:016x}" == PARENT
    assert dict(denied.attributes) == {
        "http.request.method": "POST", "http.route": "/validation", "url.path": "/validation",
        "knpy.webhook": "validation", "knpy.admission.kind": "Trigger",
        "knpy.admission.operation": "CREATE", "k8s.namespace.name": "ns",
        "knpy.object.name": "t", "http.response.status_code": 200,
        "knpy.admission.allowed": False}
    assert defaulted.name == "POST /defaulting" and defaulted.parent is None
    assert defaulted.attributes["knpy.admission.allowed"] is True
    assert broken.attributes["http.response.status_code"] == 400
    assert broken.status.status_code == StatusCode.ERROR
