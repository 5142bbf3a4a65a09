"""Two controller processes share one Lease: one leads and writes, the other takes over
when the leader is killed."""

from __future__ import annotations

import signal

import aiohttp
import pytest

from knpy.controller.eventing.resources import BROKERS
from knpy.runtime.k8s import EVENTS, LEASES, Client
from tests.support.apiserver import make_namespace
from tests.support.cluster import KubeAPI
from tests.support.poll import eventually
from tests.support.procs import free_port, python_module, spawn, stop
from tests.support.prom import scrape, value

pytestmark = pytest.mark.timeout(150)


def ready(obj: dict) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True"
               for c in (obj.get("status") or {}).get("conditions") or [])


async def reporters(client: Client, ns: str, name: str) -> set[str]:
    """Which replicas recorded the BrokerReady event for broker `name`."""
    events = (await client.list(EVENTS, ns))["items"]
    return {e.get("reportingInstance") for e in events
            if e["involvedObject"].get("name") == name and e["reason"] == "BrokerReady"}


async def test_one_leader_writes_and_a_standby_takes_over(
        kube_crds: KubeAPI, client: Client, namespace: str, logdir) -> None:
    system = make_namespace(kube_crds, "knpy-system")
    procs, probe = {}, {}
    for ident in ("a", "b"):
        probe[ident] = free_port()
        procs[ident] = spawn(
            python_module("knpy.controller", "--kubeconfig", kube_crds.kubeconfig,
                          "--namespace", system, "--identity", ident,
                          "--probe-port", str(probe[ident]),
                          "--lease-duration", "4", "--renew-deadline", "3",
                          "--retry-period", "0.5"),
            env={"POD_NAME": f"ctl-{ident}"}, log_path=logdir / f"controller-{ident}.log")
    try:
        async def holder() -> str | None:
            try:
                lease = await client.get(LEASES, system, "knpy-controller")
            except Exception:
                return None
            return lease["spec"].get("holderIdentity")
        leader = await eventually(holder, 30, what="a lease holder")
        standby = "b" if leader == "a" else "a"
        assert all(p.poll() is None for p in procs.values())
        # both replicas are ready (caches synced); only one leads
        async with aiohttp.ClientSession() as http:
            for ident in ("a", "b"):
                async def probe_ready(i: str = ident) -> bool:
                    try:
                        async with http.get(f"http://127.0.0.1:{probe[i]}/readyz") as r:
                            return r.status == 200
                    except aiohttp.ClientConnectionError:
                        return False  # that replica is still starting up
                await eventually(probe_ready, 20, what=f"controller {ident} ready")
                async with http.get(f"http://127.0.0.1:{probe[ident]}/healthz") as r:
                    assert r.status == 200

        await client.create(BROKERS, {"apiVersion": "eventing.knative.dev/v1", "kind": "Broker",
                                      "metadata": {"name": "one", "namespace": namespace}})

        async def broker(name: str):
            o = await client.get(BROKERS, namespace, name)
            return o if ready(o) else None
        await eventually(lambda: broker("one"), 30, what="broker ready under the leader")
        got = await eventually(lambda: reporters(client, namespace, "one"), 10)
        assert got == {f"ctl-{leader}"}, "only the leader reconciled (and wrote)"
        await _reconciles_counted(probe[leader])

        stop(procs[leader], sig=signal.SIGKILL)  # no clean release: the lease must expire
        await client.create(BROKERS, {"apiVersion": "eventing.knative.dev/v1", "kind": "Broker",
                                      "metadata": {"name": "two", "namespace": namespace}})
        await eventually(lambda: _is(holder(), standby), 30, what="the standby leading")
        await eventually(lambda: broker("two"), 30, what="broker ready under the standby")
        got = await eventually(lambda: reporters(client, namespace, "two"), 10)
        assert got == {f"ctl-{standby}"}
        lease = await client.get(LEASES, system, "knpy-controller")
        assert lease["spec"]["leaseTransitions"] >= 1
    finally:
        for p in procs.values():
            stop(p)


async def _is(coro, want) -> bool:
    return await coro == want



async def _reconciles_counted(port: int) -> None:
    """The probe port's /metrics: the runtime counted and timed the Broker reconciles."""
    async with aiohttp.ClientSession() as http:
        m = await scrape(http, f"http://127.0.0.1:{port}/metrics")
    broker = {"reconciler": "broker"}
    assert value(m, "controller_reconciles_total", result="success", **broker) >= 1
    total = value(m, "controller_reconciles_total", **broker)
    assert value(m, "controller_reconcile_duration_seconds_count", **broker) == total
    assert ("controller_workqueue_depth", frozenset(broker.items())) in m
