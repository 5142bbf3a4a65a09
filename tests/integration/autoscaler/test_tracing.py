"""A cold start's trace across real processes: the request the activator holds -> the
autoscaler's poke -> the scale change it writes (the process scale target starting a
pod) -> the queue-proxy of that pod; spans collected by an OTLP/HTTP collector run here on
127.0.0.1."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import aiohttp

from tests.integration.autoscaler.conftest import KEY, ROUTE, STACK, AutoscalerProc
from tests.support import otlp
from tests.support.otlp import Collector
from tests.support.poll import eventually
from tests.support.procs import free_port, python_module, running

pytestmark = STACK

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_SPAN = "00f067aa0ba902b7"
Start = Callable[..., AutoscalerProc]


async def test_cold_start_trace_runs_activator_poke_scale(
        start_autoscaler: Start, tmp_path: Path, logdir: Path) -> None:
    async with otlp.collector() as spans:
        await cold_start(start_autoscaler, spans, tmp_path, logdir)


async def cold_start(start_autoscaler: Start, spans: Collector, tmp_path: Path,
                     logdir: Path) -> None:
    # Rate 0: only the client's sampled trace is exported (ParentBased), so the scale
    # changes no request caused (none here) and the readiness probes add nothing.
    env = {"OBSERVABILITY_CONFIG": json.dumps({
               "tracing-protocol": "http/protobuf", "tracing-sampling-rate": "0",
               "tracing-endpoint": spans.url}),
           "OTEL_BSP_SCHEDULE_DELAY": "100"}
    act_port = free_port()
    endpoints = tmp_path / "endpoints.json"
    # A tick far away: the poke's own decision is the one that scales from zero.
    a = start_autoscaler({
        "config": {"initial-scale": "0", "allow-zero-initial-scale": "true"},
        "revisions": [{
            "name": "hello",
            "annotations": {"autoscaling.knative.dev/target": "2"},
            "activatorProbeUrl": f"http://127.0.0.1:{act_port}/",
            "process": {"user": [sys.executable, "-m", "tests.apps.userapp", "--port", "{user}"],
                        "queueProxyEnv": {"QUEUE_DRAIN_QUIET_PERIOD_SECONDS": "1"},
                        "stopTimeoutSeconds": 10, "logDir": str(logdir)}}]},
        "--endpoints-file", str(endpoints), "--tick-interval", "600", env=env)
    await eventually(endpoints.exists, 5, "the autoscaler's endpoints file", every=0.05)

    with running(python_module("knpy.activator", "--host", "127.0.0.1", "--port", str(act_port),
                               "--h2c-port", str(free_port()), "--config", str(endpoints),
                               "--autoscaler-url", f"ws://127.0.0.1:{a.port}/"),
                 port=act_port, env=env, log_path=logdir / "activator.log", ready_timeout=15):
        async with aiohttp.ClientSession() as s:
            async with s.get(f"http://127.0.0.1:{act_port}/", headers={
                    **ROUTE, "traceparent": f"00-{TRACE_ID}-{CLIENT_SPAN}-01"},
                    timeout=aiohttp.ClientTimeout(total=30)) as resp:
                assert resp.status == 200, await resp.text()
            assert (await a.status(s, KEY))["appliedScale"] == 1

        def chain() -> bool:
            return all(spans.of(svc, TRACE_ID) for svc in ("activator", "autoscaler",
                                                           "queue-proxy"))
        await eventually(chain, 15, "activator, autoscaler and queue-proxy spans", detail=lambda:
                         f"spans {spans.spans}\nautoscaler log: {a.log.read_text()[-3000:]}")
    (act,) = spans.of("activator", TRACE_ID)
    poke, scale = sorted(spans.of("autoscaler", TRACE_ID), key=lambda sp: sp["name"])
    (qp,) = spans.of("queue-proxy", TRACE_ID)
    assert act["parent"] == CLIENT_SPAN and act["name"] == "GET"
    assert (poke["name"], poke["kind"], poke["parent"]) == ("poke", 5, act["span_id"])  # CONSUMER
    assert (scale["name"], scale["kind"], scale["parent"]) == ("scale", 1, poke["span_id"])
    assert qp["parent"] == act["span_id"]  # the held request, forwarded once a pod is ready
    assert poke["attrs"] == {
        "k8s.namespace.name": "default", "knative.revision.name": "hello",
        "knpy.autoscaler.poke.source": poke["attrs"]["knpy.autoscaler.poke.source"],
        "knpy.autoscaler.decision": "scale", "knpy.autoscaler.replicas.desired": 1}
    assert scale["attrs"] == {
        "k8s.namespace.name": "default", "knative.revision.name": "hello",
        "knpy.autoscaler.replicas.to": 1,  # no "from": the process target never scaled
        "knpy.autoscaler.reason": "poke"}
    assert {sp["trace_id"] for sp in spans.spans} == {TRACE_ID}
