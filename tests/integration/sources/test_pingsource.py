"""PingSource against a real kube-apiserver: the controller makes it Ready with a sinkUri,
and the multi-tenant ping adapter (a real process, cluster mode) sends its events to a
real HTTP sink on 127.0.0.1. Schedules use `@every 1s`, so nothing waits a real minute
(the five-field cron maths are unit-tested with a fake clock)."""

from __future__ import annotations

import json
import os
import signal
import uuid
from pathlib import Path

import pytest

from knpy.controller.sources.ping import PING_ADAPTER
from knpy.controller.sources.resources import DEPLOYMENTS, PINGSOURCES
from knpy.runtime.k8s import LEASES, ApiError, Client
from tests.integration.sources.helpers import cond, deployment, make_available, source, until
from tests.support.apiserver import make_namespace
from tests.support.cluster import KubeAPI
from tests.support.poll import eventually
from tests.support.procs import free_port, python_module, running
from tests.support.prom import parse, value
from tests.unit.sources.conftest import Sink

pytestmark = pytest.mark.timeout(120)


async def test_pingsource_ready_and_adapter_sends_knative_events(
        controller, client: Client, namespace: str, sink: Sink, kube_sources: KubeAPI,
        logdir: Path) -> None:
    _app, system = controller
    # a ref sink resolves to the Service's cluster address
    await client.create(PINGSOURCES, source(
        "PingSource", namespace, "by-ref", schedule="0 * * * *",
        sink={"ref": {"apiVersion": "v1", "kind": "Service", "name": "missing"}}))
    by_ref = await until(lambda: client.get(PINGSOURCES, namespace, "by-ref"),
                         lambda o: cond(o, "SinkProvided").get("status") == "False",
                         what="SinkProvided False for a missing Service")
    assert cond(by_ref, "Ready")["status"] == "False"
    assert "missing" in cond(by_ref, "SinkProvided")["message"]

    await client.create(PINGSOURCES, source(
        "PingSource", namespace, "hb", schedule="@every 1s", contentType="application/json",
        data='{"message":"hello"}', sink={"uri": sink.url}))
    hb = await until(lambda: client.get(PINGSOURCES, namespace, "hb"),
                     lambda o: cond(o, "SinkProvided").get("status") == "True",
                     what="sink resolved")
    assert hb["status"]["sinkUri"] == sink.url
    assert cond(hb, "Deployed")["status"] == "Unknown", "no adapter Deployment yet"
    assert cond(hb, "Ready")["status"] == "Unknown"
    assert hb["status"]["ceAttributes"] == [{
        "type": "dev.knative.sources.ping",
        "source": f"/apis/v1/namespaces/{namespace}/pingsources/hb"}]

    # the chart's adapter Deployment becomes available: Deployed, then Ready
    await client.create(DEPLOYMENTS, deployment(system, PING_ADAPTER))
    await make_available(client, system, PING_ADAPTER)
    hb = await until(lambda: client.get(PINGSOURCES, namespace, "hb"),
                     lambda o: cond(o, "Ready").get("status") == "True", what="Ready")
    assert hb["status"]["observedGeneration"] == 1

    with running(python_module("knpy.sources", "--kubeconfig", kube_sources.kubeconfig,
                               "ping", "--namespace", system), log_path=logdir / "ping.log"):
        events = await sink.wait_for(2, within=20)
    e = events[0]
    assert e.type == "dev.knative.sources.ping"
    assert e.source == f"/apis/v1/namespaces/{namespace}/pingsources/hb"
    assert e.datacontenttype == "application/json"
    assert json.loads(e.data) == {"message": "hello"}
    uuid.UUID(e.id)
    assert e.get("time", "").endswith("Z")
    assert events[0].id != events[1].id
    assert all(ev.source.endswith("/hb") for ev in events), "by-ref has no reachable sink"


async def test_standalone_ping_adapter_reads_a_yaml_file(sink: Sink, tmp_path: Path,
                                                         logdir: Path) -> None:
    f = tmp_path / "pings.yaml"
    f.write_text(f"""
apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: {{name: local, namespace: dev}}
spec:
  schedule: "@every 1s"
  dataBase64: aGk=
  sink: {{uri: "{sink.url}"}}
---
apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: {{name: broken}}
spec: {{schedule: "99 * * * *", sink: {{uri: "{sink.url}"}}}}
""")
    log = logdir / "ping-file.log"
    probe = free_port()
    with running(python_module("knpy.sources", "--probe-host", "127.0.0.1", "--probe-port",
                               str(probe), "ping", "--file", str(f)), log_path=log,
                 port=probe, ready_timeout=30):
        events = await sink.wait_for(1, within=15)
        # every second one more: the count lies between the events seen before the
        # scrape (less the one whose response may still be on its way) and those after
        before = len(sink.events)
        sent = await _sent_total(probe)
        assert max(1, before - 1) <= sent <= len(sink.events)
    assert events[0].source == "/apis/v1/namespaces/dev/pingsources/local"
    assert events[0].data == b"hi"
    assert "spec.schedule" in log.read_text(), "the bad entry is reported by field"


async def test_two_adapter_replicas_fail_over(client: Client, sink: Sink,
                                              kube_sources: KubeAPI, logdir: Path) -> None:
    """Only the Lease holder sends; kill -9 it and the standby takes over."""
    ns = make_namespace(kube_sources, "ping-ha")
    await client.create(PINGSOURCES, {**source(
        "PingSource", ns, "hb", schedule="@every 1s", sink={"uri": sink.url}),
        "status": {}})
    made = await client.get(PINGSOURCES, ns, "hb")
    made["status"] = {"sinkUri": sink.url}  # what the controller would write
    await client.update_status(PINGSOURCES, made)

    def replica(ident: str):
        return running(python_module(
            "knpy.sources", "--kubeconfig", kube_sources.kubeconfig, "ping", "--namespace", ns,
            "--identity", ident, "--lease-duration", "3", "--renew-deadline", "2",
            "--retry-period", "0.5"), log_path=logdir / f"{ident}.log")

    with replica("a") as a, replica("b") as b:
        await sink.wait_for(2, within=20)
        lease = await eventually(lambda: _holder(client, ns), 10, what="a lease holder")
        leader, standby = (a, b) if lease == "a" else (b, a)
        standby_log = (logdir / f"{'b' if lease == 'a' else 'a'}.log").read_text()
        assert "active: sending" not in standby_log, "the standby does not send"
        os.kill(leader.pid, signal.SIGKILL)
        leader.wait(5)
        seen = len(sink.events)
        await sink.wait_for(seen + 2, within=20)
        assert standby.poll() is None
        assert await _holder(client, ns) != lease


async def _holder(client: Client, ns: str) -> str | None:
    try:
        lease = await client.get(LEASES, ns, "knpy-pingsource-adapter")
    except ApiError:
        return None
    return (lease.get("spec") or {}).get("holderIdentity")


async def _sent_total(port: int) -> float:
    import aiohttp

    async with aiohttp.ClientSession() as s, \
            s.get(f"http://127.0.0.1:{port}/metrics") as r:
        samples, types = parse(await r.text())
    assert types["source_events_sent_total"] == "counter"
    assert value(samples, "source_events_failed_total") == 0
    return value(samples, "source_events_sent_total")
