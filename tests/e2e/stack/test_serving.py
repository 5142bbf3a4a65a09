"""Serving on the local cluster (issue 10's acceptance): the seed's Knative Service, with
only the image swapped for the locally built sample, becomes a Ready Configuration and
Revision whose Kubernetes Service answers; a template change makes the next Revision; an
idle Revision scales to zero and the next request brings it back through the activator.

The stack is the package's one `make deploy` (conftest.py). There is no Route reconciler
or ingress yet (the routing issue), so requests go to each Revision's own Service
(serving.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.e2e.stack.conftest import PROBE_ERRORS, Eventing
from tests.e2e.stack.serving import (
    condition,
    diagnostics,
    get_revision,
    replicas,
    serving_namespace,
    status,
    wait_scaled_to_zero,
)
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
    with serving_namespace(knpy_stack, "sv") as ns:
        yield ns


def apply_seed(ev: Eventing, ns: str, target: str) -> None:
    ev.cluster.apply(SEED.format(name=NAME, image=image_ref("helloworld"), target=target),
                     namespace=ns)


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

    wait_scaled_to_zero(ev, ns, rev)
    t0 = time.monotonic()
    # held by the activator, which pokes the autoscaler; the pod comes back and answers
    assert get_revision(ev, ns, rev, timeout=120) == (200, "Hello Knative!\n"), \
        diagnostics(ev, ns)
    print(f"\ncold start through the activator: {time.monotonic() - t0:.2f}s")
    assert replicas(ev, ns, rev) >= 1
