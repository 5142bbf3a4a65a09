"""PodAutoscaler -> Multiscaler: registration from the PA, the Deployment target from
scaleTargetRef and the private Endpoints, status and SKS mode from the decisions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from knpy.apis.autoscaling.config import parse_autoscaler_config
from knpy.autoscaler.cluster import (
    PODAUTOSCALERS,
    SERVERLESSSERVICES,
    ClusterScaler,
    PodAutoscalerReconciler,
    activator_in_path,
)
from knpy.autoscaler.deploymenttarget import DEPLOYMENTS, ENDPOINTS, DeploymentScaleTarget
from knpy.autoscaler.multiscaler import Multiscaler
from knpy.runtime.contract.stat import Stat
from knpy.runtime.contract.wirestat import WireStatMessage
from knpy.runtime.k8s import Lister, MemoryRecorder, PermanentError, RequeueAfter, SkipKey
from knpy.runtime.k8s.testing import FakeClient
from tests.support.poll import eventually

ANN = {"autoscaling.knative.dev/class": "kpa.autoscaling.knative.dev",
       "autoscaling.knative.dev/target": "10", "autoscaling.knative.dev/min-scale": "1",
       "autoscaling.knative.dev/max-scale": "5"}


def pa(annotations: dict | None = None, cc: int = 0, reachability: str = "") -> dict:
    return {"apiVersion": "autoscaling.internal.knative.dev/v1alpha1", "kind": "PodAutoscaler",
            "metadata": {"name": "r", "namespace": "ns", "generation": 1,
                         "annotations": ANN if annotations is None else annotations},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                        "name": "r-deployment"},
                     "containerConcurrency": cc, "reachability": reachability,
                     "protocolType": "http1"}}


def sks(mode: str = "Serve", ready: bool = True, proxy: bool = False) -> dict:
    conds = [{"type": "EndpointsPopulated", "status": "True" if ready else "Unknown"},
             {"type": "Ready", "status": "True" if ready else "Unknown"}]
    if proxy:
        conds.append({"type": "ActivatorEndpointsPopulated", "status": "True"})
    return {"apiVersion": "networking.internal.knative.dev/v1alpha1",
            "kind": "ServerlessService",
            "metadata": {"name": "r", "namespace": "ns"},
            "spec": {"mode": mode, "objectRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                                 "name": "r-deployment"}},
            "status": {"serviceName": "r", "privateServiceName": "r-private",
                       "conditions": conds}}


def endpoints(*ips: str) -> dict:
    return {"apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": "r-private", "namespace": "ns",
                         "labels": {"serving.knative.dev/revision": "r"}},
            "subsets": [{"addresses": [{"ip": ip} for ip in ips],
                         "ports": [{"name": "http", "port": 8012}]}] if ips else []}


class World:
    def __init__(self, ms: Multiscaler, *objs: tuple) -> None:
        self.client = FakeClient()
        self.listers = {r.plural: Lister(r) for r in (PODAUTOSCALERS, SERVERLESSSERVICES,
                                                      ENDPOINTS)}
        for res, obj in objs:
            seeded = self.client.seed(res, obj)
            if res.plural in self.listers:
                self.listers[res.plural].put(seeded)
        self.ms = ms
        self.rec = PodAutoscalerReconciler(
            self.client, self.listers["podautoscalers"], MemoryRecorder(), multiscaler=ms,
            sks=self.listers["serverlessservices"], endpoints=self.listers["endpoints"],
            make_target=lambda ns, name: DeploymentScaleTarget(self.client, ns, name))

    def status(self) -> dict:
        return self.client.store[("podautoscalers", "ns", "r")].get("status") or {}

    def cond(self, t: str) -> tuple[str, str]:
        c = next(c for c in self.status()["conditions"] if c["type"] == t)
        return c["status"], c.get("reason", "")

    def patches(self) -> list[tuple[str, str, dict]]:
        return [(a.resource, a.name, a.obj) for a in self.client.writes("patch")]


DEPLOYMENT = (DEPLOYMENTS, {"metadata": {"name": "r-deployment", "namespace": "ns"},
                            "spec": {"replicas": 1}})


@pytest.fixture
async def ms() -> AsyncIterator[Multiscaler]:
    async with aiohttp.ClientSession() as session:
        m = Multiscaler(parse_autoscaler_config({"stable-window": "6s"}), session)
        yield m
        await m.close()


async def test_registers_the_pa_with_its_settings_and_deployment(ms: Multiscaler) -> None:
    w = World(ms, (PODAUTOSCALERS, pa(cc=4)), (SERVERLESSSERVICES, sks()), DEPLOYMENT,
              (ENDPOINTS, endpoints()))
    await w.rec.reconcile("ns/r")
    rev = ms.revisions["ns/r"]
    assert rev.spec.annotations == ANN and rev.spec.container_concurrency == 4
    assert (rev.settings.total, rev.settings.min_scale, rev.settings.max_scale) == (4.0, 1, 5)
    assert isinstance(rev.target, DeploymentScaleTarget)
    assert rev.target.deployment == "r-deployment"
    # started from the Deployment's replicas: no scale write at registration
    assert rev.target.desired == 1
    assert rev.target.ready_pods() == []
    st = w.status()
    assert (st["serviceName"], st["metricsServiceName"], st["actualScale"]) == (
        "r", "r-private", 0)
    assert "desiredScale" not in st  # no decision yet
    assert w.cond("SKSReady") == ("True", "")
    assert w.cond("Active") == ("Unknown", "Queued")
    # no decision yet and activating: the lifecycle's initial mode is Proxy
    assert w.patches() == [("serverlessservices", "r", {"spec": {"mode": "Proxy"}})]


async def test_the_pod_turning_ready_makes_the_pa_active_without_a_tick(ms: Multiscaler) -> None:
    """The reconcile its Endpoints' change queues decides at once: the PA (and so the
    Revision and the Service) turns Ready with its pods, not up to a tick interval later."""
    # target-burst-capacity 0: no burst headroom wanted, so pods serve directly (EBC 0)
    w = World(ms, (PODAUTOSCALERS, pa({**ANN, "autoscaling.knative.dev/target-burst-capacity":
                                       "0"})),
              (SERVERLESSSERVICES, sks(mode="Proxy")), DEPLOYMENT, (ENDPOINTS, endpoints()))
    await w.rec.reconcile("ns/r")
    assert w.patches() == []  # already Proxy
    assert w.cond("Active") == ("Unknown", "Queued")
    w.listers["endpoints"].put(endpoints("10.0.0.1"))
    await w.rec.reconcile("ns/r")
    rev = ms.revisions["ns/r"]
    assert rev.decisions == 1
    assert w.cond("Active") == ("True", "")
    assert w.cond("ScaleTargetInitialized") == ("True", "")
    assert w.status()["actualScale"] == 1
    # once Active, reconciles leave decisions to the ticks
    await w.rec.reconcile("ns/r")
    assert rev.decisions == 1


async def test_decision_with_load_serves_and_marks_active(ms: Multiscaler) -> None:
    w = World(ms, (PODAUTOSCALERS, pa({**ANN, "autoscaling.knative.dev/target-burst-capacity":
                                       "0"})),
              (SERVERLESSSERVICES, sks(mode="Proxy")), DEPLOYMENT, (ENDPOINTS, endpoints()))
    await w.rec.reconcile("ns/r")
    assert w.patches() == []  # already Proxy
    # 25 concurrent requests, target 10 * 70 % = 7 per pod: 4 pods
    ms.record_activator_stats([WireStatMessage("ns", "r", Stat(
        pod_name="activator", average_concurrent_requests=25.0, request_count=25.0))])
    w.listers["endpoints"].put(endpoints("10.0.0.1"))
    w.client.actions.clear()
    await w.rec.reconcile("ns/r")
    st = w.status()
    assert (st["desiredScale"], st["actualScale"]) == (4, 1)
    assert w.cond("Active") == ("True", "")
    assert w.cond("ScaleTargetInitialized") == ("True", "")
    # the decision went to the scale subresource (FakeClient merges it into the Deployment)
    assert w.client.store[("deployments", "ns", "r-deployment")]["spec"]["replicas"] == 4
    assert w.patches() == [("deployments", "r-deployment", {"spec": {"replicas": 4}}),
                           ("serverlessservices", "r", {"spec": {"mode": "Serve"}})]


async def test_short_burst_capacity_keeps_the_activator_in_path(ms: Multiscaler) -> None:
    # default target-burst-capacity 211 > 1 pod * 10 - 25 in flight: EBC < 0, so Proxy
    w = World(ms, (PODAUTOSCALERS, pa()), (SERVERLESSSERVICES, sks(mode="Serve")), DEPLOYMENT,
              (ENDPOINTS, endpoints("10.0.0.1")))
    await w.rec.reconcile("ns/r")
    ms.record_activator_stats([WireStatMessage("ns", "r", Stat(
        pod_name="activator", average_concurrent_requests=25.0, request_count=25.0))])
    await ms.decide(ms.revisions["ns/r"])
    assert ms.revisions["ns/r"].result.excess_burst_capacity < 0
    w.client.actions.clear()
    w.listers["serverlessservices"].put(sks(mode="Serve"))
    await w.rec.reconcile("ns/r")
    assert w.patches() == [("serverlessservices", "r", {"spec": {"mode": "Proxy"}})]


async def test_endpoints_change_updates_the_scrape_targets(ms: Multiscaler) -> None:
    w = World(ms, (PODAUTOSCALERS, pa()), (SERVERLESSSERVICES, sks()), DEPLOYMENT,
              (ENDPOINTS, endpoints("10.0.0.1")))
    await w.rec.reconcile("ns/r")
    w.listers["endpoints"].put(endpoints("10.0.0.1", "10.0.0.2"))
    await w.rec.reconcile("ns/r")
    assert [p.address for p in ms.revisions["ns/r"].target.ready_pods()] == [
        "10.0.0.1:8012", "10.0.0.2:8012"]
    assert w.status()["actualScale"] == 2


async def test_other_class_is_skipped_and_bad_annotations_fail(ms: Multiscaler) -> None:
    hpa = World(ms, (PODAUTOSCALERS, pa({"autoscaling.knative.dev/class":
                                         "hpa.autoscaling.knative.dev"})), DEPLOYMENT)
    with pytest.raises(SkipKey):
        await hpa.rec.reconcile("ns/r")
    assert ms.revisions == {} and hpa.client.writes() == []

    bad = World(ms, (PODAUTOSCALERS, pa({**ANN, "autoscaling.knative.dev/min-scale": "9"})),
                DEPLOYMENT)
    with pytest.raises(PermanentError, match="min-scale"):
        await bad.rec.reconcile("ns/r")
    assert ms.revisions == {}


async def test_unreachable_and_deleted(ms: Multiscaler) -> None:
    w = World(ms, (PODAUTOSCALERS, pa(reachability="Unreachable")), DEPLOYMENT)
    await w.rec.reconcile("ns/r")
    assert ms.revisions["ns/r"].settings.reachable is False
    assert w.cond("SKSReady") == ("Unknown", "NotReady")
    w.listers["podautoscalers"].remove(pa())
    await w.rec.reconcile("ns/r")
    assert ms.revisions == {}


def test_activator_in_path_needs_proxy_mode_and_populated_activator() -> None:
    assert activator_in_path(sks(mode="Proxy", proxy=True))
    assert not activator_in_path(sks(mode="Serve", proxy=True))
    assert not activator_in_path(sks(mode="Proxy", proxy=False))
    assert not activator_in_path(None)


# ---------------------------------------------------------------- ClusterScaler wiring
def scaler(ms: Multiscaler) -> tuple[ClusterScaler, FakeClient]:
    client = FakeClient()
    cs = ClusterScaler(client, ms, MemoryRecorder(), system_namespace="sys")
    return cs, client


def seed(cs: ClusterScaler, client: FakeClient, *objs: tuple) -> None:
    informers = {"podautoscalers": cs.pas, "serverlessservices": cs.skss, "endpoints": cs.eps}
    for res, obj in objs:
        seeded = client.seed(res, obj)
        if res.plural in informers:
            informers[res.plural].lister.put(seeded)


async def test_config_autoscaler_changes_apply_live(ms: Multiscaler) -> None:
    cs, client = scaler(ms)
    seed(cs, client, (PODAUTOSCALERS, pa()), DEPLOYMENT)
    cs.promote()
    await cs.reconciler.reconcile("ns/r")
    assert ms.revisions["ns/r"].settings.stable_window == 6.0
    cs.config.apply({"metadata": {"name": "config-autoscaler", "namespace": "sys"},
                     "data": {"stable-window": "20s", "scale-to-zero-grace-period": "40s"}})
    await eventually(lambda: ms.revisions["ns/r"].settings.stable_window == 20.0, 2,
                     "new stable window")
    assert ms.revisions["ns/r"].settings.scale_to_zero_grace_period == 40.0
    # a bad ConfigMap keeps the last good config
    cs.config.apply({"metadata": {"name": "config-autoscaler", "namespace": "sys"},
                     "data": {"stable-window": "1s"}})
    await asyncio.sleep(0)
    assert ms.config.stable_window == 20.0 and "config-autoscaler" in cs.config.errors
    await cs.demote()
    await cs.close()


async def test_a_decision_queues_its_pa_only_while_leading(ms: Multiscaler) -> None:
    cs, client = scaler(ms)
    seed(cs, client, (PODAUTOSCALERS, pa()), DEPLOYMENT)
    cs.promote()
    await cs.reconciler.reconcile("ns/r")
    while len(cs.controller.queue):  # promote queued every PA
        cs.controller.queue.done(await cs.controller.queue.get())
    await ms.decide(ms.revisions["ns/r"])
    assert await asyncio.wait_for(cs.controller.queue.get(), 1) == "ns/r"
    cs.controller.queue.done("ns/r")

    # standing by: every revision is forgotten, nothing is queued or written
    await cs.demote()
    assert ms.revisions == {} and not cs.reconciler.is_leader
    client.actions.clear()
    await cs.reconciler.reconcile("ns/r")
    assert ms.revisions == {} and client.writes() == []
    await cs.close()


async def test_missing_deployment_is_not_registered_and_requeued(ms: Multiscaler) -> None:
    # Registering would try to scale a Deployment that does not exist (every tick).
    w = World(ms, (PODAUTOSCALERS, pa()), (SERVERLESSSERVICES, sks()))
    with pytest.raises(RequeueAfter):
        await w.rec.reconcile("ns/r")
    assert ms.revisions == {}
    assert w.cond("Active") == ("Unknown", "DeploymentMissing")
    assert w.client.writes("patch") == []
    w.client.seed(*DEPLOYMENT)
    await w.rec.reconcile("ns/r")
    assert ms.revisions["ns/r"].target.desired == 1
