"""The autoscaler's spans (in-memory exporter): a poke is the child of the request behind
it, the scale-up written while its decision is pending (by it or by a tick first) the
poke's child; later changes are roots with their reason; decisions that change nothing
make no span."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from knpy.apis.autoscaling.config import AutoscalerConfig, parse_autoscaler_config
from knpy.autoscaler.decider import ScaleResult
from knpy.autoscaler.deploymenttarget import DeploymentScaleTarget
from knpy.autoscaler.multiscaler import Multiscaler, Revision
from knpy.autoscaler.scaletarget import ScaleTarget
from knpy.autoscaler.server import EndpointsPublisher, make_server
from knpy.autoscaler.spans import scale_reason
from knpy.runtime.contract.stat import Stat
from knpy.runtime.contract.wirestat import WireStatMessage
from knpy.runtime.observability.otelops import OperationTracer
from knpy.runtime.observability.tracing import TracingSettings
from tests.unit.autoscaler.test_deploymenttarget import ScaleAPI
from tests.unit.autoscaler.test_multiscaler import CONFIG, SPEC, Clock, RecordingTarget

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
ACTIVATOR_SPAN = "00f067aa0ba902b7"


@dataclass
class Traced:
    ms: Multiscaler
    rev: Revision
    exporter: InMemorySpanExporter
    clock: Clock


@asynccontextmanager
async def traced_ms(config: AutoscalerConfig,
                    clock: Clock | None = None) -> AsyncIterator[tuple[Multiscaler,
                                                                       InMemorySpanExporter]]:
    """A multiscaler with a tracer exporting to memory."""
    exporter = InMemorySpanExporter()
    async with aiohttp.ClientSession() as session:
        ms = Multiscaler(config, session, clock=clock or Clock())
        ms.tracer = OperationTracer(TracingSettings("stdout", "", 1.0, "autoscaler"),
                                    "knpy.autoscaler", exporter)
        try:
            yield ms, exporter
        finally:
            await ms.close()


@asynccontextmanager
async def traced(target: ScaleTarget) -> AsyncIterator[Traced]:
    """`traced_ms` at initial scale 0, SPEC registered on `target`."""
    clock = Clock()
    async with traced_ms(CONFIG, clock) as (ms, exporter):
        yield Traced(ms, await ms.register(SPEC, target), exporter, clock)


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def poke(concurrency: float, traceparent: str = "",
         tracestate: str = "") -> list[WireStatMessage]:
    return [WireStatMessage("ns", "rev", Stat("activator-0", concurrency, 0, concurrency),
                            traceparent, tracestate)]


async def test_poke_span_is_the_requests_child_and_the_scale_span_the_pokes() -> None:
    target = RecordingTarget()
    async with traced(target) as tr:
        ms, rev, exporter = tr.ms, tr.rev, tr.exporter
        ms.record_activator_stats(poke(2.0, f"00-{TRACE_ID}-{ACTIVATOR_SPAN}-01", "k=v"))
        assert rev.poke is not None
        await rev.poke
        assert target.calls == [2]
        scale, pk = exporter.get_finished_spans()  # the scale span ends first

        assert (pk.name, pk.kind) == ("poke", SpanKind.CONSUMER)
        assert f"{pk.context.trace_id:032x}" == TRACE_ID
        assert pk.parent is not None and f"{pk.parent.span_id:016x}" == ACTIVATOR_SPAN
        assert pk.parent.is_remote and pk.context.trace_state.get("k") == "v"
        assert attrs(pk) == {
            "k8s.namespace.name": "ns", "knative.revision.name": "rev",
            "knpy.autoscaler.poke.source": "activator-0",
            "knpy.autoscaler.decision": "scale", "knpy.autoscaler.replicas.desired": 2}

        assert (scale.name, scale.kind) == ("scale", SpanKind.INTERNAL)
        assert scale.context.trace_id == pk.context.trace_id
        assert scale.parent is not None and scale.parent.span_id == pk.context.span_id
        assert attrs(scale) == {
            "k8s.namespace.name": "ns", "knative.revision.name": "rev",
            "knpy.autoscaler.replicas.to": 2,  # no "from": never scaled before
            "knpy.autoscaler.reason": "poke"}
        assert scale.status.status_code == StatusCode.UNSET


async def test_no_span_while_nothing_changes_then_one_per_change() -> None:
    target = RecordingTarget()
    async with traced(target) as tr:
        ms, rev, exporter, clock = tr.ms, tr.rev, tr.exporter, tr.clock
        await ms.decide(rev)  # no data, at zero: nothing to write
        assert exporter.get_finished_spans() == ()

        ms.record_activator_stats(poke(2.0))  # no trace context: the poke is a root
        assert rev.poke is not None
        await rev.poke
        scale, pk = exporter.get_finished_spans()
        assert pk.parent is None
        assert scale.parent is not None and scale.parent.span_id == pk.context.span_id
        exporter.clear()

        for _ in range(2):  # load holds: the same 2 pods, no span
            clock.now += 1
            rev.collection.record(clock.now, Stat(average_concurrent_requests=2.0))
        await ms.decide(rev)
        assert target.calls == [2] and exporter.get_finished_spans() == ()

        # Idle until it is at zero: a span per change written, each a root with its reason.
        while target.desired != 0:
            for _ in range(2):
                clock.now += 1
                rev.collection.record(clock.now, Stat())
            await ms.decide(rev)
            assert clock.now < 1100
        assert target.calls == [2, 1, 0]
        spans = exporter.get_finished_spans()
        assert [(s.name, s.parent) for s in spans] == [("scale", None), ("scale", None)]
        assert [(attrs(s)["knpy.autoscaler.replicas.from"],
                 attrs(s)["knpy.autoscaler.replicas.to"],
                 attrs(s)["knpy.autoscaler.reason"]) for s in spans] == [
            (2, 1, "stable"), (1, 0, "scale-to-zero")]


async def test_the_scale_subresource_patch_of_a_deployment_is_the_scale_span() -> None:
    api = ScaleAPI(replicas=0)
    target = DeploymentScaleTarget(api, "ns", "rev-deployment")
    assert await target.load()  # at zero, as the Deployment says
    async with traced(target) as tr:
        tr.ms.record_activator_stats(poke(3.0, f"00-{TRACE_ID}-{ACTIVATOR_SPAN}-01"))
        assert tr.rev.poke is not None
        await tr.rev.poke
        assert api.patches == [("deployments", "ns", "rev-deployment",
                                {"spec": {"replicas": 3}}, "scale")]
        scale, pk = tr.exporter.get_finished_spans()
        assert scale.parent is not None and scale.parent.span_id == pk.context.span_id
        assert f"{scale.context.trace_id:032x}" == TRACE_ID
        assert (attrs(scale)["knpy.autoscaler.replicas.from"],
                attrs(scale)["knpy.autoscaler.replicas.to"],
                attrs(scale)["knpy.autoscaler.reason"]) == (0, 3, "poke")


async def test_a_tick_deciding_before_the_poke_writes_the_scale_up_in_the_pokes_trace() -> None:
    target = RecordingTarget()
    async with traced(target) as tr:
        ms, rev, exporter, clock = tr.ms, tr.rev, tr.exporter, tr.clock
        ms.record_activator_stats(poke(2.0, f"00-{TRACE_ID}-{ACTIVATOR_SPAN}-01"))
        assert rev.poke is not None
        await ms.decide(rev)  # the tick takes the revision first and scales it up
        assert target.calls == [2]
        await rev.poke  # its own decision then changes nothing
        assert target.calls == [2]
        scale, pk = exporter.get_finished_spans()
        assert (pk.name, scale.name) == ("poke", "scale")
        assert f"{scale.context.trace_id:032x}" == TRACE_ID
        assert scale.parent is not None and scale.parent.span_id == pk.context.span_id
        assert attrs(scale)["knpy.autoscaler.reason"] == "poke"
        assert attrs(pk)["knpy.autoscaler.replicas.desired"] == 2
        exporter.clear()

        # The poke decided: the next scale-up a tick writes is its own (a root).
        for _ in range(2):
            clock.now += 1
            rev.collection.record(clock.now, Stat(average_concurrent_requests=4.0))
        await ms.decide(rev)
        assert target.calls[-1] > 2
        (up,) = exporter.get_finished_spans()
        assert up.parent is None and attrs(up)["knpy.autoscaler.reason"] != "poke"


async def test_a_poke_unregistered_before_it_ran_still_ends_its_span() -> None:
    async with traced(RecordingTarget()) as tr:
        tr.ms.record_activator_stats(poke(2.0))
        assert tr.rev.poke is not None
        await tr.ms.unregister("ns/rev")  # the poke task is cancelled before its first step
        (pk,) = tr.exporter.get_finished_spans()
        assert (pk.name, pk.status.status_code) == ("poke", StatusCode.ERROR)
        assert attrs(pk)["error.type"] == "CancelledError"


INITIAL_3 = parse_autoscaler_config({"initial-scale": "3"})


async def test_the_initial_scale_at_registration_is_a_root_scale_span() -> None:
    async with traced_ms(INITIAL_3) as (ms, exporter):
        target = RecordingTarget()
        await ms.register(SPEC, target)
        assert target.calls == [3]
        (scale,) = exporter.get_finished_spans()
        assert (scale.name, scale.kind, scale.parent) == ("scale", SpanKind.INTERNAL, None)
        assert attrs(scale) == {
            "k8s.namespace.name": "ns", "knative.revision.name": "rev",
            "knpy.autoscaler.replicas.to": 3,  # no "from": the target had no scale yet
            "knpy.autoscaler.reason": "initial"}
        await ms.register(SPEC, target)  # an update writes no initial scale again
        assert target.calls == [3] and len(exporter.get_finished_spans()) == 1


async def test_a_new_target_inheriting_the_old_ones_scale_writes_it_in_a_span() -> None:
    async with traced_ms(INITIAL_3) as (ms, exporter):
        await ms.register(SPEC, RecordingTarget())
        replacement = RecordingTarget()
        await ms.register(SPEC, replacement)  # e.g. the Deployment of a new template
        assert replacement.calls == [3]
        initial, inherit = exporter.get_finished_spans()
        assert attrs(initial)["knpy.autoscaler.reason"] == "initial"
        assert (inherit.name, inherit.kind, inherit.parent) == ("scale", SpanKind.INTERNAL, None)
        assert attrs(inherit) == {
            "k8s.namespace.name": "ns", "knative.revision.name": "rev",
            "knpy.autoscaler.replicas.to": 3, "knpy.autoscaler.reason": "inherit"}


async def test_a_revision_put_with_a_trace_context_has_its_initial_scale_in_that_trace() -> None:
    async with traced_ms(INITIAL_3) as (ms, exporter):
        server = make_server(ms, EndpointsPublisher(ms, None))
        port = await server.listen("127.0.0.1", 0)
        try:
            async with aiohttp.ClientSession() as c, c.put(
                    f"http://127.0.0.1:{port}/api/v1/revisions/ns/r",
                    json={"pods": ["127.0.0.1:9"]},
                    headers={"Traceparent": f"00-{TRACE_ID}-{ACTIVATOR_SPAN}-01"},
                    timeout=aiohttp.ClientTimeout(total=10)) as resp:
                assert resp.status == 201, await resp.text()
        finally:
            await server.close()
        (scale,) = exporter.get_finished_spans()
        assert f"{scale.context.trace_id:032x}" == TRACE_ID
        assert scale.parent is not None and f"{scale.parent.span_id:016x}" == ACTIVATOR_SPAN
        assert attrs(scale)["knpy.autoscaler.reason"] == "initial"
        assert attrs(scale)["knative.revision.name"] == "r"


class FailingTarget(RecordingTarget):
    async def set_scale(self, replicas: int) -> None:
        raise ConnectionError("api server gone")


async def test_a_failed_scale_write_is_an_error_span() -> None:
    async with traced(FailingTarget()) as tr:
        tr.ms.record_activator_stats(poke(1.0))
        assert tr.rev.poke is not None
        with pytest.raises(ConnectionError):
            await tr.rev.poke
        scale, pk = tr.exporter.get_finished_spans()
        for sp in (scale, pk):
            assert sp.status.status_code == StatusCode.ERROR
            assert attrs(sp)["error.type"] == "ConnectionError"
        assert "knpy.autoscaler.decision" not in attrs(pk)  # it never decided


def test_scale_reasons() -> None:
    calm = ScaleResult(3, 0, False)
    assert scale_reason(3, calm, poked=True) == "poke"
    assert scale_reason(0, calm, poked=False) == "scale-to-zero"
    assert scale_reason(5, ScaleResult(5, -1, True), poked=False) == "panic"
    assert scale_reason(3, calm, poked=False) == "stable"
    assert scale_reason(1, None, poked=False) == "stable"
