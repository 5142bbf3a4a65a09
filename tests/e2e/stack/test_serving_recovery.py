"""Serving converges by itself after its components are killed or its watches expire (issue
10, acceptance 6), on the local cluster.

Each step changes the Knative Service (a new TARGET, so a new Revision, Deployment,
PodAutoscaler and SKS to make) and, right after `kubectl apply` returns, while the
controller is still making them, does the damage:

- the controller's pod is deleted with `--grace-period=0 --force` (its Deployment starts a
  new one, which takes the leader Lease once the dead holder's expires);
- the autoscaler's pod likewise (the new one must take over every PodAutoscaler: the new
  Revision gets its pods and the replaced Revision still goes to zero);
- watch expiry, for real: etcd is compacted to its newest revision and kube-apiserver is
  restarted (`hack/cluster.sh restart-apiserver`). Every watch breaks, and each informer
  resuming from its old resourceVersion gets 410 Gone from the new API server (its watch
  cache starts at the current revision, and etcd no longer holds older ones), so it must
  relist; the controller's log has to say so.

After each, with no manual step, the new Revision becomes Ready and answers with the new
TARGET through its Service."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator

import pytest

from tests.e2e.stack.conftest import DEPLOYMENTS, PROBE_ERRORS, SYSTEM_NS, Eventing
from tests.e2e.stack.serving import (
    diagnostics,
    get_revision,
    ksvc,
    replicas,
    serving_namespace,
    status,
)
from tests.support.cluster import run_hack
from tests.support.poll import wait_until

NAME = "phoenix"


@pytest.fixture(scope="module")
def recovery_ns(knpy_stack: Eventing) -> Iterator[str]:
    with serving_namespace(knpy_stack, "rc") as ns:
        yield ns


def apply(ev: Eventing, ns: str, target: str) -> None:
    ev.cluster.apply(ksvc(NAME, {"autoscaling.knative.dev/window": "6s"}, target),
                     namespace=ns)


def kill(ev: Eventing, deployment: str) -> str:
    """Force-delete the Deployment's pods (no grace: as if the node lost them); the name of
    the pod that was killed."""
    sel = ev.get("deployment", deployment, SYSTEM_NS)["spec"]["selector"]["matchLabels"]
    selector = ",".join(f"{k}={v}" for k, v in sel.items())
    killed = ev.cluster.kubectl("get", "pods", "-n", SYSTEM_NS, "-l", selector, "-o",
                                "name").stdout.split()
    ev.cluster.kubectl("delete", "pods", "-n", SYSTEM_NS, "-l", selector,
                       "--grace-period=0", "--force", "--wait=false")
    return " ".join(killed)


def converges(ev: Eventing, ns: str, n: int, target: str, timeout: float = 240) -> float:
    """Seconds until Revision -0000n is the latest ready one and answers Hello <target>!"""
    t0 = time.monotonic()
    rev = f"{NAME}-{n:05d}"
    wait_until(lambda: status(ev, "ksvc", NAME, ns).get("latestReadyRevisionName") == rev,
               timeout, f"ksvc latestReady {rev}", every=1.0, ignore=PROBE_ERRORS,
               detail=lambda: diagnostics(ev, ns))
    assert get_revision(ev, ns, rev) == (200, f"Hello {target}!\n"), diagnostics(ev, ns)
    return time.monotonic() - t0


def compact_etcd(ev: Eventing) -> int:
    """Compact etcd to its newest revision (etcd's v3 JSON gateway on 127.0.0.1)."""
    url = ev.cluster.etcd_url

    def post(path: str, body: dict[str, object]) -> dict[str, object]:
        req = urllib.request.Request(f"{url}{path}", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    rev = int(post("/v3/kv/range", {"key": "AA==", "limit": 1})["header"]["revision"])
    post("/v3/kv/compaction", {"revision": rev, "physical": True})
    return rev


def test_killing_the_controller_mid_reconcile(knpy_stack: Eventing, recovery_ns: str) -> None:
    ev, ns = knpy_stack, recovery_ns
    apply(ev, ns, "one")
    killed = kill(ev, "knpy-controller")
    took = converges(ev, ns, 1, "one")
    print(f"\ncontroller {killed} killed mid-reconcile: converged in {took:.1f}s")


def test_killing_the_autoscaler_mid_reconcile(knpy_stack: Eventing, recovery_ns: str) -> None:
    ev, ns = knpy_stack, recovery_ns
    apply(ev, ns, "two")
    killed = kill(ev, "knpy-autoscaler")
    took = converges(ev, ns, 2, "two")
    t0 = time.monotonic()
    # the new autoscaler decides for the replaced Revision too: idle, it goes to zero
    wait_until(lambda: replicas(ev, ns, f"{NAME}-00001") == 0, 180,
               f"{NAME}-00001 at 0 replicas", every=2.0, ignore=PROBE_ERRORS,
               detail=lambda: diagnostics(ev, ns))
    print(f"\nautoscaler {killed} killed mid-reconcile: converged in {took:.1f}s, "
          f"old revision at zero {time.monotonic() - t0:.0f}s later")


def test_watch_expiry_mid_reconcile(knpy_stack: Eventing, recovery_ns: str) -> None:
    ev, ns = knpy_stack, recovery_ns
    apply(ev, ns, "three")
    compact_etcd(ev)
    run_hack("cluster.sh", "restart-apiserver", cluster_dir=ev.cluster.cluster_dir,
             timeout=180)
    took = converges(ev, ns, 3, "three")
    logs = ev.cluster.kubectl("logs", "-n", SYSTEM_NS, "deployment/knpy-controller",
                              "--tail=-1", timeout=60).stdout
    assert "expired, relisting" in logs, "the controller saw no watch expire:\n" + logs[-3000:]
    # the autoscaler's informers came back too: the replaced Revision goes to zero
    wait_until(lambda: replicas(ev, ns, f"{NAME}-00002") == 0, 180,
               f"{NAME}-00002 at 0 replicas", every=2.0, ignore=PROBE_ERRORS,
               detail=lambda: diagnostics(ev, ns))
    # and the whole stack is up again for the tests after this one
    for d in DEPLOYMENTS:
        ev.cluster.wait_for_rollout(SYSTEM_NS, d, timeout=120)
    print(f"\nwatch expiry (etcd compacted, API server restarted): converged in {took:.1f}s")
