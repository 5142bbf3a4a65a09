"""The broker ingress's PRODUCER span: the stored record carries its context (not the
producer's), baggage and the CloudEvents tracing extension stay as sent, and an event the
store refuses ends its span in error. (The whole chain across processes:
tests/integration/broker/test_tracing.py.)"""

from __future__ import annotations

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from knpy.broker import record
from knpy.broker.ingress import Ingress
from knpy.broker.oteltracer import BrokerTracer
from knpy.runtime.contract import eventing
from knpy.runtime.observability.tracing import TracingSettings
from tests.support.memstore import MemoryStore

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
EXT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
HEADERS = [("ce-specversion", "1.0"), ("ce-id", "e1"), ("ce-source", "/s"), ("ce-type", "t"),
           ("ce-traceparent", EXT), ("traceparent", f"00-{TRACE}-00f067aa0ba902b7-01"),
           ("baggage", "tenant=acme"), ("Authorization", "not stored")]


async def ingress() -> tuple[Ingress, MemoryStore, InMemorySpanExporter]:
    store = MemoryStore()
    await store.ensure_broker("ns/b")
    exporter = InMemorySpanExporter()
    i = Ingress(store, 65536,
                tracer=BrokerTracer(TracingSettings("stdout", "", 0.0, "t"), exporter))
    i.set_contract(eventing.loads("brokers: [{namespace: ns, name: b}]"))
    return i, store, exporter


async def test_the_stored_record_carries_the_send_span() -> None:
    i, store, exporter = await ingress()
    assert (await i.accept("ns/b", HEADERS, b"x"))[0] == 202
    (span,) = exporter.get_finished_spans()
    assert (span.name, span.kind) == ("send ns/b", SpanKind.PRODUCER)
    assert f"{span.parent.span_id:016x}" == "00f067aa0ba902b7"
    assert span.attributes["cloudevents.event_id"] == "e1"
    assert span.attributes["messaging.destination.name"] == "ns/b"
    event, headers = record.decode(store.log["ns/b"][0])
    assert dict(headers) == {"traceparent": f"00-{TRACE}-{span.context.span_id:016x}-01",
                             "baggage": "tenant=acme"}
    assert event.attributes["traceparent"] == EXT  # the event's own, untouched


async def test_a_refused_event_ends_its_span_in_error() -> None:
    i, store, exporter = await ingress()
    store.available = False
    assert (await i.accept("ns/b", HEADERS, b"x"))[0] == 503
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes["error.type"] == "503"


async def test_tracing_off_stores_the_producer_context_as_sent() -> None:
    store = MemoryStore()
    await store.ensure_broker("ns/b")
    i = Ingress(store, 65536)
    i.set_contract(eventing.loads("brokers: [{namespace: ns, name: b}]"))
    assert (await i.accept("ns/b", HEADERS, b"x"))[0] == 202
    _, headers = record.decode(store.log["ns/b"][0])
    assert dict(headers) == {"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01",
                             "baggage": "tenant=acme"}
