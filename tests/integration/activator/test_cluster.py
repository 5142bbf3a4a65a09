"""Cluster mode against a real kube-apiserver: revisions, their private Endpoints and the
activator Endpoints drive the throttlers (in-process ClusterSource over runtime.k8s).

The pod addresses are cluster IPs that nothing here may dial, so the probe is a recording
stand-in; everything else (list+watch, handlers, subsetting) is the real thing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from knpy.activator.cluster import ClusterSource
from knpy.activator.prober import Prober
from knpy.activator.revisions import Revisions
from knpy.activator.stats import ConcurrencyReporter
from tests.integration.activator.conftest import Stack, get
from tests.support.apiserver import install_crds, make_namespace
from tests.support.cluster import KubeAPI
from tests.support.poll import eventually
from tests.support.procs import free_port, python_module, spawn, stop

pytestmark = pytest.mark.slow

# A minimal stand-in for Knative's Revision CRD (only what the activator reads), created
# unless the real one is installed already.
REVISION_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "revisions.serving.knative.dev"},
    "spec": {"group": "serving.knative.dev", "scope": "Namespaced",
             "names": {"plural": "revisions", "singular": "revision", "kind": "Revision",
                       "listKind": "RevisionList"},
             "versions": [{"name": "v1", "served": True, "storage": True,
                           "subresources": {"status": {}},
                           "schema": {"openAPIV3Schema": {
                               "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]},
}


def kubectl_json(api: KubeAPI, verb: str, obj: dict[str, Any]) -> None:
    api.kubectl(verb, "-f", "-", input=json.dumps(obj))


@pytest.fixture
def world(kube_apiserver: KubeAPI) -> tuple[KubeAPI, str, str]:
    install_crds(kube_apiserver, REVISION_CRD, ["revisions.serving.knative.dev"])
    return kube_apiserver, make_namespace(kube_apiserver, "act"), make_namespace(
        kube_apiserver, "act")


def endpoints(ns: str, name: str, ips: list[str], labels: dict[str, str] | None = None,
              not_ready: list[str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": name, "namespace": ns, "labels": labels or {}},
            "subsets": [{"addresses": [{"ip": ip} for ip in ips],
                         "notReadyAddresses": [{"ip": ip} for ip in not_ready or []],
                         "ports": [{"name": "http", "port": 8012},
                                   {"name": "http-autometric", "port": 9090}]}]}


def private_endpoints(ns: str, rev: str, ips: list[str],
                      not_ready: list[str] | None = None) -> dict[str, Any]:
    return endpoints(ns, f"{rev}-private", ips, {
        "networking.internal.knative.dev/serviceType": "Private",
        "serving.knative.dev/revision": rev}, not_ready)


async def test_revisions_and_endpoints_from_the_api(world: tuple[KubeAPI, str, str]) -> None:
    api, ns, system = world
    probed: list[str] = []

    async def probe(dest: str, limit: float) -> bool:
        probed.append(dest)
        return True

    sent: list[bytes] = []
    loop = asyncio.get_running_loop()
    revisions = Revisions(Prober(probe=probe), ConcurrencyReporter("a", sent.append, loop.time),
                          pod_ip="10.1.0.2")
    source = ClusterSource(revisions, system, api.kubeconfig)
    task = asyncio.create_task(source.run())
    try:
        await asyncio.wait_for(source.synced.wait(), 20)
        # Endpoints first (as can happen), then the Revision.
        kubectl_json(api, "create", private_endpoints(ns, "hello-00001",
                                                      ["10.0.0.1", "10.0.0.2", "10.0.0.3"]))
        kubectl_json(api, "create", {
            "apiVersion": "serving.knative.dev/v1", "kind": "Revision",
            "metadata": {"name": "hello-00001", "namespace": ns},
            "spec": {"containerConcurrency": 2, "timeoutSeconds": 60, "containers": []}})
        key = f"{ns}/hello-00001"
        rt = await eventually(lambda: revisions.get(key), 20, "the revision's throttler")
        await eventually(lambda: len(rt.assigned) == 3, 10, "three probed pods")
        assert rt.cc == 2 and rt.timeout == 60 and rt.policy_name == "first-available"
        assert sorted(probed) == ["10.0.0.1:8012", "10.0.0.2:8012", "10.0.0.3:8012"]
        assert rt.capacity == 6

        # Two activators: this one (10.1.0.2) is index 1 of 2 -> pod slice [1:2] + remnant.
        kubectl_json(api, "create", endpoints(system, "activator-service",
                                              ["10.1.0.1", "10.1.0.2"]))
        await eventually(lambda: rt.activator_count == 2, 10, "subsetting across activators")
        assert rt.activator_index == 1
        assert [t.dest for t in rt.assigned] == ["10.0.0.2:8012"]

        # A pod goes away, a new one comes: only the new one is probed.
        kubectl_json(api, "apply", private_endpoints(ns, "hello-00001",
                                                     ["10.0.0.1", "10.0.0.4"]))
        await eventually(lambda: sorted(rt.trackers) == ["10.0.0.1:8012", "10.0.0.4:8012"],
                         10, "the endpoints update")
        assert probed.count("10.0.0.4:8012") == 1 and probed.count("10.0.0.1:8012") == 1

        # containerConcurrency changes live; deleting the revision removes the throttler.
        api.kubectl("-n", ns, "patch", "revision", "hello-00001", "--type=merge", "-p",
                    '{"spec": {"containerConcurrency": 10}}')
        await eventually(lambda: rt.cc == 10, 10, "the new containerConcurrency")
        assert rt.policy_name == "round-robin"
        api.kubectl("-n", ns, "delete", "revision", "hello-00001")
        await eventually(lambda: revisions.get(key) is None, 10, "the revision removed")
        assert rt.closed
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        revisions.close()


def private_slice(ns: str, name: str, rev: str, ready: list[str],
                  starting: list[str] | None = None) -> dict[str, Any]:
    """An EndpointSlice as the EndpointSlice controller writes it for `<rev>-private` (the
    Service's labels copied onto it), at discovery.k8s.io/v1beta1: what 1.20 serves."""
    eps = [{"addresses": [ip], "conditions": {"ready": True}} for ip in ready] + \
        [{"addresses": [ip], "conditions": {"ready": False}} for ip in starting or []]
    return {"apiVersion": "discovery.k8s.io/v1beta1", "kind": "EndpointSlice",
            "metadata": {"name": name, "namespace": ns, "labels": {
                "kubernetes.io/service-name": f"{rev}-private",
                "networking.internal.knative.dev/serviceType": "Private",
                "serving.knative.dev/revision": rev}},
            "addressType": "IPv4", "endpoints": eps,
            "ports": [{"name": "http", "port": 8012, "protocol": "TCP"},
                      {"name": "http-autometric", "port": 9090, "protocol": "TCP"}]}


async def test_pods_from_endpointslices(world: tuple[KubeAPI, str, str]) -> None:
    """The EndpointSlice path (what `auto` takes on 1.21+), on this 1.20 server's v1beta1:
    a revision's backends are the union of its slices, starting pods included once probed;
    `auto` here takes Endpoints, because discovery.k8s.io/v1 is not served."""
    api, ns, system = world
    probed: list[str] = []

    async def probe(dest: str, limit: float) -> bool:
        probed.append(dest)
        return True

    loop = asyncio.get_running_loop()
    revisions = Revisions(Prober(probe=probe), ConcurrencyReporter("a", [].append, loop.time),
                          pod_ip="10.1.0.2")
    auto = ClusterSource(revisions, system, api.kubeconfig)
    source = ClusterSource(revisions, system, api.kubeconfig, "discovery.k8s.io/v1beta1")
    tasks = [asyncio.create_task(auto.run()), asyncio.create_task(source.run())]
    try:
        await asyncio.wait_for(asyncio.gather(auto.synced.wait(), source.synced.wait()), 20)
        assert (auto.source, source.source) == ("endpoints", "discovery.k8s.io/v1beta1")
        tasks[0].cancel()
        kubectl_json(api, "create", {
            "apiVersion": "serving.knative.dev/v1", "kind": "Revision",
            "metadata": {"name": "sl-00001", "namespace": ns},
            "spec": {"containerConcurrency": 1, "timeoutSeconds": 60, "containers": []}})
        kubectl_json(api, "create", private_slice(ns, "sl-00001-private-a", "sl-00001",
                                                  ["10.0.0.1"], ["10.0.0.2"]))
        kubectl_json(api, "create", private_slice(ns, "sl-00001-private-b", "sl-00001",
                                                  ["10.0.0.3"]))
        key = f"{ns}/sl-00001"
        rt = await eventually(lambda: revisions.get(key), 20, "the revision's throttler")
        await eventually(lambda: sorted(rt.trackers) == [
            "10.0.0.1:8012", "10.0.0.2:8012", "10.0.0.3:8012"], 10, "both slices' pods")
        await eventually(lambda: len(rt.assigned) == 3, 10, "all three probed and assigned")
        kubectl_json(api, "delete", private_slice(ns, "sl-00001-private-b", "sl-00001", []))
        await eventually(lambda: sorted(rt.trackers) == ["10.0.0.1:8012", "10.0.0.2:8012"],
                         10, "the deleted slice's pod gone")
        kubectl_json(api, "apply", private_slice(ns, "sl-00001-private-a", "sl-00001", []))
        await eventually(lambda: not rt.trackers, 10, "no pods left")
        assert rt.capacity == 0
        api.kubectl("-n", ns, "delete", "revision", "sl-00001")  # the API server is shared
        await eventually(lambda: revisions.get(key) is None, 10, "the revision removed")
    finally:
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        revisions.close()


async def test_cluster_mode_process(world: tuple[KubeAPI, str, str], stack: Stack) -> None:
    """`python -m knpy.activator --cluster` against the real API server: it serves once its
    informers have synced; a known revision with no ready pods holds requests (here until
    its 1 s timeoutSeconds), an unknown one is 404."""
    api, ns, system = world
    kubectl_json(api, "create", {
        "apiVersion": "serving.knative.dev/v1", "kind": "Revision",
        "metadata": {"name": "hello-00001", "namespace": ns},
        "spec": {"containerConcurrency": 0, "timeoutSeconds": 1, "containers": []}})
    # one pod, not ready yet: nothing to send to
    kubectl_json(api, "create", private_endpoints(ns, "hello-00001", [], ["10.0.0.7"]))
    # the API server is shared with other test modules: the activator learns theirs too
    known = len(json.loads(api.kubectl("get", "revisions.serving.knative.dev", "-A",
                                       "-o", "json").stdout)["items"])
    port, _ = stack.activator("--cluster", "--kubeconfig", api.kubeconfig,
                              "--system-namespace", system, "--pod-ip", "10.1.0.1",
                              "--autoscaler-url", "")
    base = f"http://127.0.0.1:{port}"
    route = {"Knative-Serving-Namespace": ns, "Knative-Serving-Revision": "hello-00001"}
    async with aiohttp.ClientSession() as s:
        assert await get(s, base + "/", route) == (503, "context deadline exceeded\n")
        status, body = await get(s, base + "/", {**route, "Knative-Serving-Revision": "nope"})
        assert status == 404 and '"nope" not found' in body
    assert f"informers synced: {known} revision(s)" in stack.log("activator-")


def test_cluster_mode_without_an_api_server_fails_clearly(tmp_path: Path) -> None:
    proc = spawn(python_module("knpy.activator", "--cluster", "--port", str(free_port()),
                               "--metrics-port", "0", "--kubeconfig",
                               str(tmp_path / "missing.kubeconfig"), "--autoscaler-url", ""),
                 log_path=tmp_path / "act.log")
    try:
        assert proc.wait(timeout=30) == 1
    finally:
        stop(proc)
    assert "cluster mode failed before its informers synced" in (tmp_path / "act.log").read_text()
