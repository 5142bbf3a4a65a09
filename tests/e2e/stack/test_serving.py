"""Serving on the local cluster (issue 10's acceptance): the seed's Knative Service, with
only the image swapped for the locally built sample, becomes a Ready Configuration and
Revision whose Kubernetes Service answers; a template change makes the next Revision; an
idle Revision scales to zero and the next request brings it back through the activator.

The stack is the package's one `make deploy` (conftest.py). There is no Route reconciler
or ingress yet (the routing issue), so requests go to each Revision's own Service."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.stack.conftest import PROBE_ERRORS, Eventing
from tests.support.cluster import image_ref
from tests.support.poll import wait_until

NAME = "helloworld-go"
# The seed's manifest. `window: 6s` (the shortest stable window Knative allows) only makes
# the scale-to-zero test wait less; the grace period stays config-autoscaler's 30 s.
SEED = """
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {{name: {name}}}
spec:
  template:
    metadata:
      annotations: {{autoscaling.knative.dev/target: "10", autoscaling.knative.dev/window: 6s}}
    spec:
      containers:
      - image: {image}
        ports: [{{name: http1, containerPort: 8080}}]
        env: [{{name: TARGET, value: {target}}}]
"""


@pytest.fixture(scope="module")
def serving_ns(knpy_stack: Eventing) -> Iterator[str]:
    c = knpy_stack.cluster
    ns = f"sv-{uuid.uuid4().hex[:6]}"
    c.kubectl("create", "namespace", ns)
    try:
        yield ns
    finally:
        c.kubectl("delete", "ksvc", "--all", "-n", ns, "--wait=true", "--timeout=60s",
                  timeout=90, check=False)
        c.kubectl("delete", "namespace", ns, "--wait=true", "--timeout=120s", timeout=150,
                  check=False)


def diagnostics(ev: Eventing, ns: str) -> str:
    k = ev.cluster.kubectl
    return "\n".join([
        k("get", "ksvc,cfg,rev,rt,kpa,sks,deploy,svc,endpoints,pods", "-n", ns, "-o", "wide",
          check=False).stdout,
        k("get", "kpa,sks", "-n", ns, "-o", "yaml", check=False).stdout[-3000:],
        k("logs", "-n", ev.namespace, "deployment/knpy-autoscaler", "--tail=30",
          check=False).stdout,
        k("logs", "-n", ev.namespace, "deployment/knpy-activator", "--tail=30",
          check=False).stdout,
        ev.diagnostics(ns)])


def status(ev: Eventing, kind: str, name: str, ns: str) -> dict[str, Any]:
    return ev.get(kind, name, ns).get("status") or {}


def condition(obj_status: dict[str, Any], type_: str) -> dict[str, Any]:
    return next((c for c in obj_status.get("conditions") or [] if c["type"] == type_), {})


def apply_seed(ev: Eventing, ns: str, target: str) -> None:
    ev.cluster.apply(SEED.format(name=NAME, image=image_ref("helloworld"), target=target),
                     namespace=ns)


def get_revision(ev: Eventing, ns: str, rev: str, timeout: float = 120) -> tuple[int, str]:
    """GET / from the revision's own Service, as a pod would through the cluster DNS name
    (the host does not use the cluster DNS: its ClusterIP, with that name as Host)."""
    ip = ev.cluster.kubectl("get", "svc", rev, "-n", ns, "-o",
                            "jsonpath={.spec.clusterIP}").stdout.strip()
    return ev.cluster.http_get(f"http://{ip}/", timeout=timeout,
                               headers={"Host": f"{rev}.{ns}.svc.cluster.local"})


def test_seed_service_gets_a_ready_revision_that_answers(knpy_stack: Eventing,
                                                        serving_ns: str) -> None:
    ev, ns = knpy_stack, serving_ns
    t0 = time.monotonic()
    apply_seed(ev, ns, "World")
    ev.wait_ready("configuration", NAME, ns, timeout=240)
    rev = ev.wait_ready("revision", f"{NAME}-00001", ns, timeout=60)
    t_ready = time.monotonic() - t0
    assert rev["metadata"]["labels"]["serving.knative.dev/configuration"] == NAME
    assert get_revision(ev, ns, f"{NAME}-00001") == (200, "Hello World!\n"), \
        diagnostics(ev, ns)
    ksvc = status(ev, "ksvc", NAME, ns)
    assert ksvc["latestCreatedRevisionName"] == ksvc["latestReadyRevisionName"] == \
        f"{NAME}-00001"
    assert condition(ksvc, "ConfigurationsReady")["status"] == "True"
    # the Route is programmed on the gateway: the Service turns Ready with its URL, and
    # the gateway routes its host to the revision
    ksvc = ev.wait_ready("ksvc", NAME, ns, timeout=60)["status"]
    assert ksvc["url"] == f"http://{NAME}.{ns}.example.com", ksvc
    assert ksvc["address"]["url"] == f"http://{NAME}.{ns}.svc.cluster.local", ksvc
    assert ksvc["traffic"] == [{"revisionName": f"{NAME}-00001", "latestRevision": True,
                                "percent": 100}], ksvc
    gateway = ev.cluster.kubectl("get", "svc", "knpy-ingress", "-n", "knpy-system", "-o",
                                 "jsonpath={.spec.clusterIP}").stdout.strip()
    assert ev.cluster.http_get(f"http://{gateway}/", timeout=60, headers={
        "Host": f"{NAME}.{ns}.example.com"}) == (200, "Hello World!\n"), diagnostics(ev, ns)
    # what `kubectl get` shows users reads like Knative's
    out = ev.cluster.kubectl("get", "ksvc,cfg,rev", "-n", ns).stdout
    for column in ("LATESTCREATED", "LATESTREADY", "READY", "REASON"):
        assert column in out, out
    print(f"\nksvc applied -> Revision Ready {t_ready:.1f}s")


def test_changing_the_template_makes_the_next_revision(knpy_stack: Eventing,
                                                       serving_ns: str) -> None:
    ev, ns = knpy_stack, serving_ns
    apply_seed(ev, ns, "Knative")
    wait_until(lambda: status(ev, "ksvc", NAME, ns).get("latestReadyRevisionName")
               == f"{NAME}-00002", 240, "ksvc latestReady -00002", every=1.0,
               ignore=PROBE_ERRORS, detail=lambda: diagnostics(ev, ns))
    assert get_revision(ev, ns, f"{NAME}-00002") == (200, "Hello Knative!\n"), \
        diagnostics(ev, ns)
    # the first Revision is immutable and still there
    rev1 = ev.get("revision", f"{NAME}-00001", ns)
    env = rev1["spec"]["containers"][0]["env"]
    assert {"name": "TARGET", "value": "World"} in env


def test_idle_revision_scales_to_zero_and_a_request_brings_it_back(knpy_stack: Eventing,
                                                                   serving_ns: str) -> None:
    ev, ns = knpy_stack, serving_ns
    rev = f"{NAME}-00002"
    deployment = f"{rev}-deployment"

    def replicas() -> int:
        spec = json.loads(ev.cluster.kubectl("get", "deployment", deployment, "-n", ns, "-o",
                                             "json").stdout)["spec"]
        return int(spec.get("replicas") or 0)

    # stable window 6 s + scale-to-zero grace 30 s, with the activator in the path first
    wait_until(lambda: replicas() == 0, 240, f"{deployment} at 0 replicas", every=2.0,
               ignore=PROBE_ERRORS, detail=lambda: diagnostics(ev, ns))
    wait_until(lambda: not ev.cluster.kubectl(
        "get", "pods", "-n", ns, "-l", f"serving.knative.dev/revision={rev}", "-o",
        "name").stdout.split(), 120, f"{rev}'s pods gone", every=1.0, ignore=PROBE_ERRORS)
    t0 = time.monotonic()
    # held by the activator, which pokes the autoscaler; the pod comes back and answers
    assert get_revision(ev, ns, rev, timeout=120) == (200, "Hello Knative!\n"), \
        diagnostics(ev, ns)
    print(f"\ncold start through the activator: {time.monotonic() - t0:.2f}s")
    assert replicas() >= 1
