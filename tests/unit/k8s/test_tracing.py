"""Reconcile spans from the runtime: with a tracer installed every Controller makes one
`reconcile <name>` span per reconcile, with the key and the result, and none without."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from knpy.runtime.k8s import Controller
from knpy.runtime.k8s import tracing as k8s_tracing
from knpy.runtime.observability.otelops import OperationTracer
from knpy.runtime.observability.tracing import TracingSettings
from tests.unit.k8s.test_metrics import Scripted

ON = TracingSettings("stdout", "", 1.0, "controller")


@pytest.fixture
def exported() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    k8s_tracing.install(OperationTracer(ON, "knpy.runtime.k8s", exporter))
    yield exporter
    k8s_tracing.install(None)


async def test_one_span_per_reconcile_with_key_and_result(
        exported: InMemorySpanExporter) -> None:
    c = Controller(Scripted())
    for key in ("ns/ok", "ns/requeue", "ns/err", "cluster-scoped"):
        await c.process(key)
    spans = exported.get_finished_spans()
    assert [s.name for s in spans] == ["reconcile scripted-test"] * 4
    by_name = {s.attributes["knpy.object.name"]: s for s in spans}
    ok, requeue, err = by_name["ok"], by_name["requeue"], by_name["err"]
    assert ok.kind == SpanKind.INTERNAL
    assert ok.attributes["k8s.namespace.name"] == "ns"
    assert ok.attributes["knpy.reconciler"] == "scripted-test"
    assert ok.attributes["knpy.reconcile.result"] == "success"
    assert ok.status.status_code == StatusCode.UNSET
    assert requeue.attributes["knpy.reconcile.result"] == "requeue"
    assert err.attributes["knpy.reconcile.result"] == "error"
    assert err.status.status_code == StatusCode.ERROR
    assert "k8s.namespace.name" not in by_name["cluster-scoped"].attributes
    await c.queue.shutdown()


async def test_no_tracer_no_spans() -> None:
    assert k8s_tracing.tracer is None  # off by default
    exporter = InMemorySpanExporter()
    OperationTracer(ON, "knpy.runtime.k8s", exporter)  # made, never installed
    c = Controller(Scripted())
    await c.process("ns/ok")
    assert exporter.get_finished_spans() == ()
    await c.queue.shutdown()
