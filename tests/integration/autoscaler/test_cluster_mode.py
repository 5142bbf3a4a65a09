"""The autoscaler in cluster mode and the SKS reconciler against a real kube-apiserver.

A PodAutoscaler with load is scaled up through its Deployment's scale subresource, its SKS
flips Proxy -> Serve -> Proxy, and after the grace period with no load the Deployment goes
to 0; the activator's stats over the websocket bring it back to 1.

No kubelet: the "pods" are stat pods on 127.0.0.1 (tests/integration/autoscaler/statpod.py);
the test plays the Deployment controller and the endpoints controller at once: the private
Endpoints hold the first `replicas` pods of a pool, with addresses nothing dials (the
autoscaler's --metrics-host 127.0.0.1 replaces them when scraping, and the distinct
metrics ports pick the pod).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from knpy.autoscaler.cluster import PODAUTOSCALERS, SERVERLESSSERVICES
from knpy.autoscaler.deploymenttarget import DEPLOYMENTS, ENDPOINTS
from knpy.controller.serving.sks import ServerlessServiceControllers
from knpy.runtime.contract.stat import Stat
from knpy.runtime.contract.wirestat import WireStatMessage, encode_wire_stats
from knpy.runtime.k8s import LEASES, SERVICES, ApiError, Client, Discovery, MemoryRecorder
from tests.support.apiserver import CRDS, install_crds, make_namespace
from tests.support.cluster import KubeAPI
from tests.support.poll import eventually
from tests.support.procs import free_port, python_module, running, stop

pytestmark = pytest.mark.slow

ACTIVATOR_IP = "10.1.0.1"
REV = "r"


def apply(api: KubeAPI, obj: dict[str, Any]) -> None:
    api.kubectl("apply", "-f", "-", input=json.dumps(obj))


def private_endpoints(ns: str, pods: list[tuple[str, int, int]]) -> dict[str, Any]:
    """(ip, serving port, metrics port) per pod; one subset each (distinct ports)."""
    return {"apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": f"{REV}-private", "namespace": ns, "labels": {
                "networking.internal.knative.dev/serviceType": "Private",
                "serving.knative.dev/revision": REV}},
            "subsets": [{"addresses": [{"ip": ip}],
                         "ports": [{"name": "http", "port": serving},
                                   {"name": "http-autometric", "port": metrics}]}
                        for ip, serving, metrics in pods]}


def world(api: KubeAPI, ns: str, system: str) -> None:
    apply(api, {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "config-autoscaler", "namespace": system},
                "data": {"stable-window": "6s", "scale-to-zero-grace-period": "6s"}})
    apply(api, {"apiVersion": "v1", "kind": "Endpoints",
                "metadata": {"name": "activator-service", "namespace": system},
                "subsets": [{"addresses": [{"ip": ACTIVATOR_IP}],
                             "ports": [{"name": "http", "port": 8012}]}]})
    labels = {"serving.knative.dev/revision": REV}
    apply(api, {"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": f"{REV}-deployment", "namespace": ns, "labels": labels},
                "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                         "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                             {"name": "user-container", "image": "example.test/app"}]}}}})
    ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"{REV}-deployment"}
    apply(api, {"apiVersion": "networking.internal.knative.dev/v1alpha1",
                "kind": "ServerlessService",
                "metadata": {"name": REV, "namespace": ns, "labels": labels},
                "spec": {"mode": "Proxy", "objectRef": ref, "protocolType": "http1"}})
    apply(api, {"apiVersion": "autoscaling.internal.knative.dev/v1alpha1",
                "kind": "PodAutoscaler",
                "metadata": {"name": REV, "namespace": ns, "labels": labels, "annotations": {
                    "autoscaling.knative.dev/class": "kpa.autoscaling.knative.dev",
                    "autoscaling.knative.dev/target": "1",
                    "autoscaling.knative.dev/target-utilization-percentage": "100",
                    # no burst headroom: the SKS serves directly whenever pods are wanted
                    "autoscaling.knative.dev/target-burst-capacity": "0"}},
                "spec": {"scaleTargetRef": ref, "containerConcurrency": 0,
                         "protocolType": "http1"}})


def cond(pa: dict, t: str) -> str:
    return next((c["status"] for c in (pa.get("status") or {}).get("conditions") or []
                 if c["type"] == t), "")


def public_ips(ep: dict) -> list[str]:
    return sorted(a["ip"] for s in ep.get("subsets") or [] for a in s.get("addresses") or [])


Pred = Callable[[dict, dict, dict, dict], bool]


class Harness:
    """One PA world: stat pods, the pool the "pods" come from, the SKS reconciler and the
    stand-in for ReplicaSet + kubelet + endpoints controller, and autoscaler processes."""

    def __init__(self, api: KubeAPI, client: Client, logdir: Path,
                 statpods: Callable[[float | None], tuple[int, int]]) -> None:
        self.api, self.client, self.logdir = api, client, logdir
        self.ns, self.system = make_namespace(api, "kpa"), make_namespace(api, "kpa-sys")
        world(api, self.ns, self.system)
        # one pod with 4 requests in flight (4 pods at target 1), then idle ones
        self.busy = [("10.0.0.1", *statpods(4.0))]
        self.idle = [(f"10.0.0.{i + 2}", *statpods(0.0)) for i in range(4)]
        self.pool = self.busy + self.idle[:3]
        apply(api, private_endpoints(self.ns, self.pool[:1]))
        self.logs: list[Path] = []
        self.tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        sks = ServerlessServiceControllers(self.client, Discovery(self.client),
                                           MemoryRecorder(), system_namespace=self.system,
                                           watch_timeout=30)
        sks.promote()
        self.tasks = [asyncio.create_task(sks.run()),
                      asyncio.create_task(self._pods_follow_replicas())]

    async def close(self) -> None:
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def _pods_follow_replicas(self) -> None:
        """Ready pods = the first `replicas` of the pool."""
        while True:
            d = await self.client.get(DEPLOYMENTS, self.ns, f"{REV}-deployment")
            ep = await self.client.get(ENDPOINTS, self.ns, f"{REV}-private")
            want = private_endpoints(self.ns, self.pool[:d["spec"]["replicas"]])["subsets"]
            if (ep.get("subsets") or []) != want:
                ep["subsets"] = want
                await self.client.update(ENDPOINTS, ep)
            await asyncio.sleep(0.2)

    def autoscaler(self, port: int, identity: str) -> contextlib.AbstractContextManager:
        log = self.logdir / f"autoscaler-{identity}.log"
        self.logs.append(log)
        return running(python_module(
            "knpy.autoscaler", "--host", "127.0.0.1", "--port", str(port),
            "--kubeconfig", self.api.kubeconfig, "--system-namespace", self.system,
            "--metrics-host", "127.0.0.1", "--identity", identity, "--lease-duration", "4",
            "--renew-deadline", "3", "--retry-period", "1"),
            port=port, log_path=log, ready_timeout=20)

    async def get(self, res: Any, name: str) -> dict[str, Any]:
        return await self.client.get(res, self.ns, name)

    async def state(self) -> str:
        try:
            pa, s = await self.get(PODAUTOSCALERS, REV), await self.get(SERVERLESSSERVICES, REV)
            d = await self.get(DEPLOYMENTS, f"{REV}-deployment")
            ep = await self.get(ENDPOINTS, REV)
        except ApiError as exc:
            return str(exc)
        logs = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in self.logs)
        return json.dumps({"pa": pa.get("status"), "sks": s["spec"]["mode"],
                           "sksStatus": s.get("status"), "replicas": d["spec"]["replicas"],
                           "public": ep.get("subsets")}) + "\n" + logs

    async def check(self, pred: Pred, within: float, what: str) -> None:
        async def ok() -> bool:
            try:
                return pred(await self.get(PODAUTOSCALERS, REV),
                            await self.get(SERVERLESSSERVICES, REV),
                            await self.get(DEPLOYMENTS, f"{REV}-deployment"),
                            await self.get(ENDPOINTS, REV))
            except (ApiError, KeyError):
                return False
        try:
            await eventually(ok, within, what, every=0.2)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{await self.state()}") from None

    async def scaled_up(self) -> None:
        """Load: the Deployment is scaled to 4, the SKS serves from the pods."""
        await self.check(lambda pa, s, d, ep: d["spec"]["replicas"] == 4
                         and pa["status"].get("desiredScale") == 4
                         and cond(pa, "Active") == "True"
                         and cond(pa, "SKSReady") == "True"
                         and s["spec"]["mode"] == "Serve"
                         and public_ips(ep) == [ip for ip, *_ in self.pool], 60,
                         "scaled up to 4, Serve")


@pytest.fixture
async def harness(kube_apiserver: KubeAPI, client: Client, logdir: Path,
                  statpods: Callable[[float | None], tuple[int, int]]
                  ) -> AsyncIterator[Harness]:
    api = install_crds(kube_apiserver, CRDS / "serving.yaml", [
        "podautoscalers.autoscaling.internal.knative.dev",
        "serverlessservices.networking.internal.knative.dev"])
    h = Harness(api, client, logdir, statpods)
    h.start()
    try:
        yield h
    finally:
        await h.close()


async def test_pa_scales_deployment_up_and_to_zero_and_flips_the_sks(harness: Harness) -> None:
    h = harness
    port = free_port()
    with h.autoscaler(port, "a"):
        await h.scaled_up()
        services = [await h.get(SERVICES, n) for n in (REV, f"{REV}-private")]
        assert services[1]["spec"]["selector"] == {"serving.knative.dev/revision": REV}

        # The load stops: down to 0 through Proxy.
        h.pool[:] = h.idle
        await h.check(lambda pa, s, d, ep: s["spec"]["mode"] == "Proxy"
                      and public_ips(ep) == [ACTIVATOR_IP]
                      and cond(pa, "Active") == "False", 60, "inactive, Proxy")
        await h.check(lambda pa, s, d, ep: d["spec"]["replicas"] == 0
                      and pa["status"].get("desiredScale") == 0, 60, "scaled to 0")
        await h.check(lambda pa, s, d, ep: pa["status"].get("actualScale") == 0
                      and cond(pa, "SKSReady") == "True"  # the activator backs it
                      and public_ips(ep) == [ACTIVATOR_IP], 30, "0 pods, still routed")
        # many reconciles later, the Services as the API server defaulted them are left be
        assert [(await h.get(SERVICES, n))["metadata"]["resourceVersion"]
                for n in (REV, f"{REV}-private")] == [
                    x["metadata"]["resourceVersion"] for x in services]

        # A request held by the activator: its stats over the websocket wake it up.
        async with aiohttp.ClientSession() as session, \
                session.ws_connect(f"http://127.0.0.1:{port}/") as ws:
            await ws.send_bytes(encode_wire_stats([WireStatMessage(h.ns, REV, Stat(
                pod_name="activator", average_concurrent_requests=1.0,
                request_count=1.0))]))
            # Activating, then Active as soon as the pod is in the Endpoints (this harness
            # lists it at once, so the Activating status may already be gone)
            await h.check(lambda pa, s, d, ep: d["spec"]["replicas"] == 1
                          and cond(pa, "Active") in ("Unknown", "True"), 30,
                          "activating from 0")
            await h.check(lambda pa, s, d, ep: d["spec"]["replicas"] == 1
                          and cond(pa, "Active") == "True", 30, "active again")


async def test_standby_takes_over_when_the_leader_is_killed(harness: Harness) -> None:
    h = harness
    with h.autoscaler(free_port(), "a") as a, h.autoscaler(free_port(), "b"):
        await h.scaled_up()
        lease = await h.client.get(LEASES, h.system, "knpy-autoscaler")
        assert lease["spec"]["holderIdentity"] == "a"
        stop(a, signal.SIGKILL)  # no release: b waits out the lease duration

        # A new target per pod (2): only a leader can act on it.
        await h.client.patch(PODAUTOSCALERS, h.ns, REV, {"metadata": {"annotations": {
            "autoscaling.knative.dev/target": "2"}}})
        await h.check(lambda pa, s, d, ep: d["spec"]["replicas"] == 2
                      and pa["status"].get("desiredScale") == 2, 60, "b scaled to 2")
        lease = await h.client.get(LEASES, h.system, "knpy-autoscaler")
        assert lease["spec"]["holderIdentity"] == "b"
