"""Ready means flowing: the controller (in-process, real kube-apiserver) and the broker's
ingress and dispatcher (real processes, real nats-server) learn the contract through the
API, and a Broker or Trigger turns Ready only once every data-plane pod serves it.

The API server runs no kubelet, so each broker process stands in for a Pod the test creates
(and marks Ready); the process reports the generation it serves onto that Pod ($POD_NAME),
as it does in a cluster. The processes authenticate as the chart's `knpy-broker`
ServiceAccount (a TokenRequest token) bound to the chart's own Role, so the RBAC the chart
grants (the contract ConfigMap by resourceNames, patch on pods) is what they run with."""

from __future__ import annotations

import asyncio
import json
import signal
import statistics
import subprocess
import time
from pathlib import Path

import aiohttp
import pytest
import yaml

from knpy.controller.eventing.resources import BROKERS, DEPLOYMENTS, PODS, TRIGGERS
from knpy.runtime.contract.eventing import GENERATION_ANNOTATION
from knpy.runtime.k8s import CONFIGMAPS, ApiError, Client, Resource, connect
from tests.integration.broker.conftest import Nats, Sink, binary_headers, post
from tests.support.apiserver import controller_app
from tests.support.cluster import KubeAPI
from tests.support.poll import eventually
from tests.support.procs import REPO, free_port, python_module, spawn, stop, wait_port

pytestmark = pytest.mark.timeout(180)

SERVICEACCOUNTS = Resource("", "v1", "serviceaccounts", "ServiceAccount")
CONTRACT_CM = "knpy-broker-contract"
ROLES = ("ingress", "dispatcher")


def cond(obj: dict, type_: str) -> dict:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c["type"] == type_:
            return c
    return {}


def token_kubeconfig(admin: Path, out: Path, token: str) -> None:
    """The admin kubeconfig's server and CA, with a bearer token for every user."""
    cfg = yaml.safe_load(admin.read_text())
    cfg["users"] = [{"name": u["name"], "user": {"token": token}} for u in cfg["users"]]
    out.write_text(json.dumps(cfg))


class DataPlane:
    """Deployments and Pods for the broker's two roles, each Pod backed by a process."""

    def __init__(self, api: KubeAPI, client: Client, system: str, nats: Nats,
                 logdir: Path) -> None:
        self.api, self.client, self.system, self.nats = api, client, system, nats
        self.logdir = logdir
        self.kubeconfig = logdir / "broker.kubeconfig"
        self.port = free_port()
        self.procs: dict[str, subprocess.Popen] = {}
        self.watch_timeout = 300

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def create(self) -> None:
        c, ns = self.client, self.system
        for sa in ("default", "knpy-broker"):
            await c.create(SERVICEACCOUNTS, {"apiVersion": "v1", "kind": "ServiceAccount",
                                             "metadata": {"name": sa, "namespace": ns}})
        await self._broker_identity()
        await c.create(CONFIGMAPS, {
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "config-knpy-eventing", "namespace": ns},
            "data": {"ingress-host": f"127.0.0.1:{self.port}",
                     "ingress-deployment": "broker-ingress",
                     "dispatcher-deployment": "broker-dispatcher"}})
        for role in ROLES:
            labels = {"app": f"broker-{role}"}
            pod_spec = {"automountServiceAccountToken": False,
                        "containers": [{"name": role, "image": "knpy/broker"}]}
            dep = await c.create(DEPLOYMENTS, {
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": f"broker-{role}", "namespace": ns},
                "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                         "template": {"metadata": {"labels": labels}, "spec": pod_spec}}})
            dep["status"] = {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1,
                             "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                 "message": "ok"}]}
            await c.update_status(DEPLOYMENTS, dep)
            pod = await c.create(PODS, {"apiVersion": "v1", "kind": "Pod",
                                        "metadata": {"name": f"broker-{role}-0",
                                                     "namespace": ns, "labels": labels},
                                        "spec": pod_spec})
            pod["status"] = {"phase": "Running",
                             "conditions": [{"type": "Ready", "status": "True"}]}
            await c.update_status(PODS, pod)

    async def _broker_identity(self) -> None:
        """The chart's broker Role and RoleBinding in the system namespace, and a kubeconfig
        with a token of the knpy-broker ServiceAccount."""
        rbac = self.api.helm("template", "knpy", str(REPO / "charts" / "knpy"), "-n",
                             self.system, "--show-only", "templates/rbac-broker.yaml").stdout
        self.api.kubectl("apply", "-n", self.system, "-f", "-", input=rbac)
        tok = await self.client.request(
            "POST", f"/api/v1/namespaces/{self.system}/serviceaccounts/knpy-broker/token",
            body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                  "spec": {"expirationSeconds": 3600}})
        token_kubeconfig(Path(self.api.kubeconfig), self.kubeconfig, tok["status"]["token"])

    def start(self, role: str) -> None:
        args = ["--role", role, "--contract-configmap", f"{self.system}/{CONTRACT_CM}",
                "--kubeconfig", str(self.kubeconfig), "--nats", self.nats.url,
                "--port", str(self.port), "--watch-timeout", str(self.watch_timeout)]
        self.procs[role] = spawn(python_module("knpy.broker", *args),
                                 env={"POD_NAME": f"broker-{role}-0",
                                      "POD_NAMESPACE": self.system},
                                 log_path=self.logdir / f"{role}.log")
        if role == "ingress":
            wait_port(self.port, proc=self.procs[role], timeout=30)

    def signal(self, role: str, sig: int) -> None:
        self.procs[role].send_signal(sig)

    def stop_all(self) -> None:
        for role in list(self.procs):
            proc = self.procs.pop(role)
            proc.send_signal(signal.SIGCONT)  # a held process must be able to exit
            stop(proc)

    async def served(self, role: str) -> int:
        pod = await self.client.get(PODS, self.system, f"broker-{role}-0")
        return int((pod["metadata"].get("annotations") or {}).get(GENERATION_ANNOTATION, -1))

    async def contract_generation(self) -> int:
        cm = await self.client.get(CONFIGMAPS, self.system, CONTRACT_CM)
        return int(cm["metadata"]["annotations"][GENERATION_ANNOTATION])


@pytest.fixture
async def world(kube_crds: KubeAPI, client: Client, nats: Nats, logdir: Path, sink: Sink):
    ns = __import__("tests.support.apiserver", fromlist=["make_namespace"]).make_namespace(
        kube_crds, "t")
    async with controller_app(kube_crds, client) as (_app, system):
        dp = DataPlane(kube_crds, client, system, nats, logdir)
        await dp.create()
        try:
            yield dp, ns
        finally:
            dp.stop_all()


def broker(ns: str, name: str = "default") -> dict:
    return {"apiVersion": "eventing.knative.dev/v1", "kind": "Broker",
            "metadata": {"name": name, "namespace": ns}, "spec": {}}


def trigger(ns: str, name: str, uri: str, type_: str, **spec) -> dict:
    return {"apiVersion": "eventing.knative.dev/v1", "kind": "Trigger",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"broker": "default", "subscriber": {"uri": uri},
                     "filter": {"attributes": {"type": type_}}, **spec}}


async def ready(client: Client, res: Resource, ns: str, name: str, within: float = 30.0
                ) -> dict:
    """Poll (every 10 ms) until Ready=True; return the object."""
    last: dict = {}

    async def is_ready() -> bool:
        last.update(await client.get(res, ns, name))
        return cond(last, "Ready").get("status") == "True"
    await eventually(is_ready, within, f"{res.kind} {name} Ready", every=0.01,
                     detail=lambda: str((last.get("status") or {}).get("conditions")))
    return last


async def start_with_broker(dp: DataPlane, client: Client, ns: str) -> None:
    for role in ROLES:
        await asyncio.to_thread(dp.start, role)
    await client.create(BROKERS, broker(ns))
    await ready(client, BROKERS, ns, "default")


async def test_ten_triggers_each_sent_one_event_the_instant_it_is_ready(
        world, client: Client, sink: Sink) -> None:
    dp, ns = world
    await start_with_broker(dp, client, ns)
    lat: list[float] = []
    async with aiohttp.ClientSession() as http:
        for i in range(10):
            path, type_ = f"/t{i}", f"com.example.t{i}"
            t0 = time.monotonic()
            await client.create(TRIGGERS, trigger(ns, f"t{i}", sink.url(path), type_))
            await ready(client, TRIGGERS, ns, f"t{i}")
            at_ready = time.monotonic()
            status, body = await post(http, f"{dp.url}/{ns}/default",
                                      binary_headers(id_=f"e{i}", type_=type_))
            assert status == 202, body
            [got] = await sink.wait_for(path, 1, wait=15)
            lat.append(got.at - at_ready)
            print(f"trigger t{i}: created->Ready {at_ready - t0:.3f}s, "
                  f"Ready->delivered {got.at - at_ready:.3f}s")
    assert all(len(sink.at(f"/t{i}")) == 1 for i in range(10)), "0 lost, none twice"
    p95 = sorted(lat)[min(len(lat) - 1, int(0.95 * len(lat)))]
    print(f"RESULT trigger_ready_to_delivered_p95_s={p95:.3f} "
          f"median={statistics.median(lat):.3f} (127.0.0.1, 10 triggers)")


async def test_the_broker_runs_with_the_charts_narrow_rbac(world) -> None:
    dp, _ns = world
    await asyncio.to_thread(dp.start, "ingress")  # it could watch its contract, and report
    async def reported() -> bool:
        return await dp.served("ingress") >= 1
    await eventually(reported, 15, "the ingress reports a generation")
    c = await connect(str(dp.kubeconfig))
    try:
        with pytest.raises(ApiError) as e:  # no other ConfigMap, not even by listing
            await c.list(CONFIGMAPS, dp.system)
        assert e.value.status == 403
        got = await c.list(CONFIGMAPS, dp.system, field_selector=f"metadata.name={CONTRACT_CM}")
        assert [i["metadata"]["name"] for i in got["items"]] == [CONTRACT_CM]
    finally:
        await c.close()


async def test_not_ready_while_a_data_plane_pod_serves_an_older_generation(
        world, client: Client, sink: Sink) -> None:
    dp, ns = world
    await start_with_broker(dp, client, ns)
    dp.signal("dispatcher", signal.SIGSTOP)  # held: it cannot see the new contract
    await client.create(TRIGGERS, trigger(ns, "held", sink.url("/held"), "com.example.held"))
    waiting: dict = {}

    async def data_plane_waits() -> bool:
        waiting.update(cond(await client.get(TRIGGERS, ns, "held"), "SubscriptionReady"))
        return waiting.get("reason") == "DataPlaneNotReady" and \
            "broker-dispatcher-0" in waiting["message"]
    await eventually(data_plane_waits, 15, "SubscriptionReady waits for the dispatcher",
                     detail=lambda: str(waiting))
    gen = await dp.contract_generation()
    assert f"generation {gen}" in waiting["message"], waiting
    assert await dp.served("ingress") >= gen, "the ingress applied it"
    for _ in range(20):  # held for 2 s: never Ready meanwhile
        t = await client.get(TRIGGERS, ns, "held")
        assert cond(t, "Ready").get("status") != "True", t["status"]
        await asyncio.sleep(0.1)

    dp.signal("dispatcher", signal.SIGCONT)
    await ready(client, TRIGGERS, ns, "held", within=15)
    async with aiohttp.ClientSession() as http:
        status, _ = await post(http, f"{dp.url}/{ns}/default",
                               binary_headers(type_="com.example.held"))
    assert status == 202
    await sink.wait_for("/held", 1, wait=15)


async def test_contract_watch_renewed_and_missed_changes_caught_up(
        world, client: Client, sink: Sink) -> None:
    dp, ns = world
    dp.watch_timeout = 1  # the API server ends every contract watch after 1-2 s
    await start_with_broker(dp, client, ns)
    dp.signal("dispatcher", signal.SIGSTOP)
    await client.create(TRIGGERS, trigger(ns, "late", sink.url("/late"), "com.example.late"))
    await eventually(lambda: dp.contract_generation(), 10)
    await asyncio.sleep(4)  # the held dispatcher's watch expires while it misses the change
    dp.signal("dispatcher", signal.SIGCONT)
    await ready(client, TRIGGERS, ns, "late", within=20)
    await asyncio.sleep(3)  # several more renewals
    await client.create(TRIGGERS, trigger(ns, "later", sink.url("/later"),
                                          "com.example.later"))
    await ready(client, TRIGGERS, ns, "later", within=20)
    async with aiohttp.ClientSession() as http:
        for type_ in ("com.example.late", "com.example.later"):
            status, _ = await post(http, f"{dp.url}/{ns}/default",
                                   binary_headers(id_=type_, type_=type_))
            assert status == 202
    await sink.wait_for("/late", 1, wait=15)
    await sink.wait_for("/later", 1, wait=15)
