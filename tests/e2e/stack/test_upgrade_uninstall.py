"""The chart's life after install (issue 12's acceptance), on the package's one install:

1. `helm upgrade` with a changed value rolls the components it concerns (here the gateway
   and the activator, both on the request path) and nothing else, while a bounded load
   through the gateway to a Knative Service sees no failed request;
2. `helm uninstall` leaves no knpy workload running, and leaves users' objects as
   charts/knpy/README.md documents: the CRDs, the Knative Services and Brokers, and what
   the controller made for them (a Revision's Deployment) stay.

Destructive, so it is marked stack_teardown (tests/e2e/conftest.py): it runs after every
other test of the package, the uninstall being the last thing done to the shared install.
With KNPY_REUSE_CLUSTER=1 (a stack installed by
`make deploy`, to be left installed) it deploys the stack again afterwards."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from hack.deploy import deploy
from tests.e2e.stack.conftest import (
    CHART,
    DEPLOYMENTS,
    PROBE_ERRORS,
    RELEASE,
    SYSTEM_NS,
    Eventing,
)
from tests.e2e.stack.serving import condition, diagnostics, serving_namespace, status
from tests.e2e.stack.test_routing import GATEWAY, get, service, wait_answer
from tests.support.cluster import reuse_requested
from tests.support.httpload import Load
from tests.support.poll import wait_until

pytestmark = pytest.mark.stack_teardown
NAME = "upgraded"
ROLLED = ("knpy-ingress", "knpy-activator")  # what the changed values concern
BROKER = """
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: kept}
"""


def generation(ev: Eventing, deployment: str) -> int:
    return int(ev.get("deployment", deployment, SYSTEM_NS)["metadata"]["generation"])


def pods(ev: Eventing, deployment: str) -> set[str]:
    """Names of the running pods of one of the chart's Deployments."""
    sel = ev.get("deployment", deployment, SYSTEM_NS)["spec"]["selector"]["matchLabels"]
    out = ev.cluster.kubectl("get", "pods", "-n", SYSTEM_NS, "-l",
                             ",".join(f"{k}={v}" for k, v in sel.items()),
                             "--field-selector=status.phase=Running", "-o",
                             "jsonpath={.items[*].metadata.name}").stdout
    return set(out.split())


@pytest.fixture(scope="module")
def app_ns(knpy_stack: Eventing) -> Iterator[str]:
    with serving_namespace(knpy_stack, "up", kinds=("ksvc", "brokers")) as ns:
        yield ns


def test_upgrade_rolls_the_changed_components_with_no_failed_request(
        knpy_stack: Eventing, app_ns: str) -> None:
    ev, ns = knpy_stack, app_ns
    host = f"{NAME}.{ns}.example.com"
    # one pod kept (no scale to zero mid-test); the activator stays on the path (Proxy mode
    # under the default target-burst-capacity), so both rolled components carry the load
    manifest = service(NAME, "Upgrade")
    manifest = manifest.replace('"autoscaling.knative.dev/target": "10"',
                                '"autoscaling.knative.dev/target": "10", '
                                '"autoscaling.knative.dev/min-scale": "1"')
    ev.cluster.apply(manifest, namespace=ns)
    ev.wait_ready("ksvc", NAME, ns, timeout=240)
    wait_answer(host, "Hello Upgrade!\n")

    before = {d: (generation(ev, d), pods(ev, d)) for d in DEPLOYMENTS}
    values: dict[str, Any] = {"serving.ingress.drainTimeout": 29,
                              "serving.activator.drainTimeout": 29}
    # two workers: the load must last through both rollouts and their drains (quiet
    # periods of 15 s each) without starving the node's two cores
    load = Load(GATEWAY, workers=2, duration=200, max_requests=60000,
                headers={"Host": host}).start()
    try:
        time.sleep(2)
        t0 = time.monotonic()
        ev.cluster.helm("upgrade", RELEASE, str(CHART), "-n", SYSTEM_NS,
                        "--reuse-values", *[a for k, v in values.items()
                                            for a in ("--set", f"{k}={v}")],
                        "--wait=watcher", "--timeout", "240s", timeout=270)
        for d in ROLLED:
            ev.cluster.wait_for_rollout(SYSTEM_NS, d, timeout=180)
            # the old pods are gone (drained), not merely a new one started
            wait_until(lambda d=d: not (pods(ev, d) & before[d][1]), 120,
                       f"the old {d} pod gone", every=1.0, ignore=PROBE_ERRORS)
        rolled_in = time.monotonic() - t0
        time.sleep(2)  # requests on the new pods too
        assert load.running, "the load ended before the rollouts did"
    finally:
        load.stop()
        outcomes = load.join()
    print(f"\nupgrade under load: rolled {', '.join(ROLLED)} in {rolled_in:.1f}s, "
          f"outcomes {dict(outcomes)}")
    assert sum(outcomes.values()) > 100, outcomes
    assert load.failed == 0, (outcomes, load.errors[:10], diagnostics(ev, ns))
    for d in DEPLOYMENTS:
        changed = generation(ev, d) != before[d][0]
        assert changed == (d in ROLLED), f"{d}: generation {before[d][0]} -> {generation(ev, d)}"
    assert get(host) == (200, "Hello Upgrade!\n")


def test_uninstall_stops_every_workload_and_keeps_users_objects(
        knpy_stack: Eventing, app_ns: str) -> None:
    ev, ns, c = knpy_stack, app_ns, knpy_stack.cluster
    if c.kubectl("get", "ksvc", NAME, "-n", ns, check=False).returncode != 0:
        c.apply(service(NAME, "Upgrade"), namespace=ns)
    ev.wait_ready("ksvc", NAME, ns, timeout=240)
    c.apply(BROKER, namespace=ns)
    ev.wait_ready("broker", "kept", ns, timeout=120)
    revision = status(ev, "ksvc", NAME, ns)["latestReadyRevisionName"]
    crds = c.kubectl("get", "crd", "-o", "name").stdout.split()

    c.helm("uninstall", RELEASE, "-n", SYSTEM_NS, "--wait", "--timeout", "180s", timeout=210)
    try:
        # no knpy workload: every pod of the system namespace ends (their drain included)
        wait_until(lambda: not c.kubectl("get", "pods", "-n", SYSTEM_NS, "-o", "name"
                                         ).stdout.split(), 150,
                   f"no pod left in {SYSTEM_NS}", every=2.0, ignore=PROBE_ERRORS,
                   detail=lambda: c.kubectl("get", "pods", "-n", SYSTEM_NS, "-o", "wide",
                                            check=False).stdout)
        left = c.kubectl("get", "deployments,statefulsets,daemonsets,services", "-n",
                         SYSTEM_NS, "-o", "name").stdout.split()
        assert left == [], left
        gone = c.kubectl("get", "validatingwebhookconfigurations,"
                         "mutatingwebhookconfigurations", "-o", "name").stdout
        assert "knpy" not in gone, gone
        # users' objects and the API stay (Helm never deletes crds/)
        assert c.kubectl("get", "crd", "-o", "name").stdout.split() == crds
        ksvc = ev.get("ksvc", NAME, ns)
        assert ksvc["metadata"].get("deletionTimestamp") is None, ksvc["metadata"]
        assert condition(ksvc["status"], "Ready").get("status") == "True", ksvc["status"]
        assert ev.get("broker", "kept", ns)["metadata"].get("deletionTimestamp") is None
        assert ev.get("revision", revision, ns)["metadata"]["name"] == revision
        assert ev.get("deployment", f"{revision}-deployment", ns)["metadata"]["name"]
    finally:
        if reuse_requested():  # leave the stack installed, as it was found
            deploy(c.cluster_dir, timeout=300)

