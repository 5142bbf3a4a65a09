"""Helpers the Serving e2e modules share: a namespace per module, Knative Service manifests
with the sample app, reaching a Revision through its own Service, and diagnostics.

There is no Route reconciler or ingress yet (the routing issue), so requests go to each
Revision's Kubernetes Service: its ClusterIP from the host, with the name a pod would use
through the cluster DNS as Host."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from typing import Any

from tests.e2e.stack.conftest import PROBE_ERRORS, Eventing
from tests.support.cluster import image_ref
from tests.support.poll import wait_until


@contextlib.contextmanager
def serving_namespace(ev: Eventing, prefix: str,
                      kinds: tuple[str, ...] = ("ksvc",)) -> Iterator[str]:
    """A fresh namespace; its objects of `kinds` go first, one kind after the other (while
    the controller runs: it removes their finalizers). The namespace is not waited for: its
    pods drain for their quiet period (30 s) and nothing after the test needs them gone
    (the package's teardown waits for what it removes)."""
    c = ev.cluster
    ns = f"{prefix}-{uuid.uuid4().hex[:6]}"
    c.kubectl("create", "namespace", ns)
    try:
        yield ns
    finally:
        for kind in kinds:
            c.kubectl("delete", kind, "--all", "-n", ns, "--wait=true", "--timeout=60s",
                      timeout=90, check=False)
        c.kubectl("delete", "namespace", ns, "--wait=false", check=False)


def ksvc(name: str, annotations: dict[str, str], target: str | None = None) -> str:
    """A Knative Service of the sample app (TARGET set if given), as a JSON manifest."""
    container: dict[str, Any] = {"image": image_ref("helloworld"),
                                 "ports": [{"name": "http1", "containerPort": 8080}]}
    if target is not None:
        container["env"] = [{"name": "TARGET", "value": target}]
    return json.dumps({
        "apiVersion": "serving.knative.dev/v1", "kind": "Service", "metadata": {"name": name},
        "spec": {"template": {"metadata": {"annotations": annotations},
                              "spec": {"containers": [container]}}}})


def revision_url(ev: Eventing, ns: str, rev: str) -> tuple[str, dict[str, str]]:
    """(http://<the Revision's ClusterIP>/, headers naming it as the cluster DNS would)."""
    ip = ev.cluster.kubectl("get", "svc", rev, "-n", ns, "-o",
                            "jsonpath={.spec.clusterIP}").stdout.strip()
    return f"http://{ip}/", {"Host": f"{rev}.{ns}.svc.cluster.local"}


def get_revision(ev: Eventing, ns: str, rev: str, timeout: float = 120) -> tuple[int, str]:
    """GET / from the revision's own Service, as a pod would through the cluster DNS name."""
    url, headers = revision_url(ev, ns, rev)
    return ev.cluster.http_get(url, timeout=timeout, headers=headers)


def status(ev: Eventing, kind: str, name: str, ns: str) -> dict[str, Any]:
    return ev.get(kind, name, ns).get("status") or {}


def condition(obj_status: dict[str, Any], type_: str) -> dict[str, Any]:
    return next((c for c in obj_status.get("conditions") or [] if c["type"] == type_), {})


def replicas(ev: Eventing, ns: str, rev: str) -> int:
    """The replica count the autoscaler set on the Revision's Deployment."""
    return int(ev.get("deployment", f"{rev}-deployment", ns)["spec"].get("replicas") or 0)


def wait_scaled_to_zero(ev: Eventing, ns: str, rev: str) -> None:
    """Until the revision's Deployment is at 0 replicas and its pods are gone (stable
    window + config-autoscaler's scale-to-zero grace, 30 s, with the activator in the path
    first)."""
    wait_until(lambda: replicas(ev, ns, rev) == 0, 240, f"{rev} at 0 replicas", every=2.0,
               ignore=PROBE_ERRORS, detail=lambda: diagnostics(ev, ns))
    wait_until(lambda: not ev.cluster.kubectl(
        "get", "pods", "-n", ns, "-l", f"serving.knative.dev/revision={rev}", "-o",
        "name").stdout.split(), 120, f"{rev}'s pods gone", every=1.0, ignore=PROBE_ERRORS)


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
