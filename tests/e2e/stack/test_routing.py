"""Routing on the local cluster (issue 11's acceptance), through the gateway's fixed external
address: the NodePort 31080 on 127.0.0.1 (docs/routing.md), with the route's host as Host.

1. the seed's Service answers at `helloworld-go.<ns>.example.com`;
2. a 50/50 split gives each revision 40-60 % of 400 requests, a tag gets its own host, and
   moving 100 % to the next revision under a bounded load loses no request;
3. a cluster-local Service is not reachable from the external address;
4. a DomainMapping routes its host to the Service, and the same domain mapped again from
   another namespace is refused (DomainClaimed False, as Knative reports it);
5. from zero pods, a request through the gateway succeeds (gateway -> activator -> pod).

The stack is the package's one `make deploy` (conftest.py)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.stack.conftest import PROBE_ERRORS, Eventing
from tests.e2e.stack.serving import (
    condition,
    diagnostics,
    serving_namespace,
    status,
    wait_scaled_to_zero,
)
from tests.support.cluster import image_ref
from tests.support.httpload import Load
from tests.support.poll import wait_until

GATEWAY = "http://127.0.0.1:31080/"  # the chart's knpy-ingress NodePort
NAME = "helloworld-go"
WINDOW = "6s"  # the shortest stable window Knative allows: scale to zero sooner


def service(name: str, target: str, *, traffic: list[dict[str, Any]] | None = None,
            labels: dict[str, str] | None = None) -> str:
    """The seed's manifest (image swapped), with TARGET, and traffic / labels if given."""
    spec: dict[str, Any] = {"template": {
        "metadata": {"annotations": {"autoscaling.knative.dev/target": "10",
                                     "autoscaling.knative.dev/window": WINDOW}},
        "spec": {"containers": [{"image": image_ref("helloworld"),
                                 "ports": [{"name": "http1", "containerPort": 8080}],
                                 "env": [{"name": "TARGET", "value": target}]}]}}}
    if traffic is not None:
        spec["traffic"] = traffic
    return json.dumps({"apiVersion": "serving.knative.dev/v1", "kind": "Service",
                       "metadata": {"name": name, "labels": labels or {}}, "spec": spec})


def get(host: str, timeout: float = 10) -> tuple[int, str]:
    """One GET through the gateway's external address; (0, error) when nothing answered."""
    req = urllib.request.Request(GATEWAY, headers={"Host": host})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")
    except OSError as e:
        return 0, repr(e)


def wait_answer(host: str, body: str, timeout: float = 90) -> None:
    """Until the gateway answers `host` with `body` (a route just made Ready is programmed
    already; this covers the kube-proxy NodePort rules of a fresh install)."""
    wait_until(lambda: get(host) == (200, body), timeout, f"{host} answers {body!r}",
               every=0.5, detail=lambda: repr(get(host)))


@pytest.fixture(scope="module")
def route_ns(knpy_stack: Eventing) -> Iterator[str]:
    with serving_namespace(knpy_stack, "rt") as ns:
        yield ns


def test_seed_service_answers_at_its_host_on_the_external_address(
        knpy_stack: Eventing, route_ns: str) -> None:
    ev, ns = knpy_stack, route_ns
    ev.cluster.apply(service(NAME, "World"), namespace=ns)
    ksvc = ev.wait_ready("ksvc", NAME, ns, timeout=240)
    assert ksvc["status"]["url"] == f"http://{NAME}.{ns}.example.com"
    # Ready means routed: the first request after Ready is answered, with no retry
    assert get(f"{NAME}.{ns}.example.com") == (200, "Hello World!\n"), diagnostics(ev, ns)
    assert get(f"nothing-here.{ns}.example.com")[0] == 404


def test_split_tag_and_rollout_without_loss(knpy_stack: Eventing, route_ns: str) -> None:
    ev, ns = knpy_stack, route_ns
    host = f"{NAME}.{ns}.example.com"
    r1, r2 = f"{NAME}-00001", f"{NAME}-00002"
    ev.cluster.apply(service(NAME, "Knative", traffic=[
        {"revisionName": r1, "percent": 50},
        {"latestRevision": True, "percent": 50},
        {"revisionName": r1, "tag": "old", "percent": 0}]), namespace=ns)
    wait_until(lambda: status(ev, "ksvc", NAME, ns).get("latestReadyRevisionName") == r2
               and condition(status(ev, "ksvc", NAME, ns), "Ready").get("status") == "True"
               and len(status(ev, "ksvc", NAME, ns).get("traffic") or []) == 3,
               240, "ksvc split 50/50 and Ready", every=1.0, ignore=PROBE_ERRORS,
               detail=lambda: diagnostics(ev, ns))

    seen: Counter[str] = Counter(get(host)[1] for _ in range(400))
    world, knative = seen["Hello World!\n"], seen["Hello Knative!\n"]
    assert world + knative == 400, seen
    assert 160 <= world <= 240 and 160 <= knative <= 240, seen

    tagged = next(t for t in status(ev, "ksvc", NAME, ns)["traffic"] if t.get("tag") == "old")
    assert tagged["url"] == f"http://old-{NAME}.{ns}.example.com", tagged
    assert get(f"old-{NAME}.{ns}.example.com") == (200, "Hello World!\n")

    # all traffic to the latest revision while a bounded load runs: nothing is lost
    load = Load(GATEWAY, workers=4, duration=40, max_requests=3000,
                headers={"Host": host}).start()
    try:
        time.sleep(2)
        ev.cluster.apply(service(NAME, "Knative", traffic=[
            {"latestRevision": True, "percent": 100}]), namespace=ns)
        wait_until(lambda: [t.get("percent") for t in
                            status(ev, "ksvc", NAME, ns).get("traffic") or []] == [100]
                   and condition(status(ev, "ksvc", NAME, ns), "Ready").get("status")
                   == "True", 120, "ksvc at 100% latest", every=0.5, ignore=PROBE_ERRORS)
        wait_until(lambda: all(get(host)[1] == "Hello Knative!\n" for _ in range(20)), 30,
                   "gateway sends everything to -00002", every=0.5)
        time.sleep(2)
    finally:
        load.stop()
        outcomes = load.join()
    assert sum(outcomes.values()) > 50, outcomes
    assert load.failed == 0, (outcomes, load.errors)


def test_cluster_local_service_is_not_reachable_from_outside(knpy_stack: Eventing,
                                                            route_ns: str) -> None:
    ev, ns = knpy_stack, route_ns
    ev.cluster.apply(service("private", "Private",
                             labels={"networking.knative.dev/visibility": "cluster-local"}),
                     namespace=ns)
    ksvc = ev.wait_ready("ksvc", "private", ns, timeout=240)["status"]
    assert ksvc["url"] == f"http://private.{ns}.svc.cluster.local", ksvc
    for host in (f"private.{ns}.example.com", f"private.{ns}.svc.cluster.local",
                 f"private.{ns}.svc", f"private.{ns}"):
        assert get(host)[0] == 404, host
    # the internal gateway does serve it, to callers inside the cluster
    internal = ev.cluster.kubectl("get", "svc", "knpy-ingress-internal", "-n", ev.namespace,
                                  "-o", "jsonpath={.spec.clusterIP}").stdout.strip()
    assert ev.cluster.http_get(f"http://{internal}/", timeout=30, headers={
        "Host": f"private.{ns}.svc.cluster.local"}) == (200, "Hello Private!\n")


def domain_mapping(domain: str, ns: str, target: str) -> str:
    return json.dumps({"apiVersion": "serving.knative.dev/v1beta1", "kind": "DomainMapping",
                       "metadata": {"name": domain, "namespace": ns},
                       "spec": {"ref": {"apiVersion": "serving.knative.dev/v1",
                                        "kind": "Service", "name": target}}})


def test_domain_mapping_routes_and_a_second_claim_is_refused(knpy_stack: Eventing,
                                                            route_ns: str) -> None:
    ev, ns = knpy_stack, route_ns
    domain = "hello.example.org"
    # config-network's autocreate-cluster-domain-claims is false, as Knative ships it: the
    # operator claims the domain for a namespace
    ev.cluster.apply(json.dumps({
        "apiVersion": "networking.internal.knative.dev/v1alpha1",
        "kind": "ClusterDomainClaim", "metadata": {"name": domain},
        "spec": {"namespace": ns}}))
    try:
        ev.cluster.apply(domain_mapping(domain, ns, NAME), namespace=ns)
        dm = ev.wait_ready("domainmapping", domain, ns, timeout=120)["status"]
        assert dm["url"] == f"http://{domain}", dm
        assert get(domain) == (200, "Hello Knative!\n"), diagnostics(ev, ns)

        with serving_namespace(ev, "rt2") as other:
            ev.cluster.apply(domain_mapping(domain, other, NAME), namespace=other)
            wait_until(lambda: condition(status(ev, "domainmapping", domain, other),
                                         "DomainClaimed").get("reason")
                       == "DomainAlreadyClaimed", 60, "second mapping refused", every=0.5,
                       ignore=PROBE_ERRORS,
                       detail=lambda: repr(status(ev, "domainmapping", domain, other)))
            st = status(ev, "domainmapping", domain, other)
            assert condition(st, "Ready").get("status") == "False", st
            assert ns in condition(st, "DomainClaimed").get("message", ""), st
            # the first mapping keeps the domain
            assert get(domain) == (200, "Hello Knative!\n")
            ev.cluster.kubectl("delete", "domainmapping", domain, "-n", other,
                               "--timeout=30s", check=False)
    finally:
        ev.cluster.kubectl("delete", "domainmapping", domain, "-n", ns, "--timeout=30s",
                           check=False)
        ev.cluster.kubectl("delete", "clusterdomainclaim", domain, "--timeout=30s",
                           check=False)


def test_from_zero_pods_a_request_through_the_gateway_succeeds(knpy_stack: Eventing,
                                                              route_ns: str) -> None:
    ev, ns = knpy_stack, route_ns
    rev = f"{NAME}-00002"
    host = f"{NAME}.{ns}.example.com"
    wait_scaled_to_zero(ev, ns, rev)
    t0 = time.monotonic()
    assert get(host, timeout=120) == (200, "Hello Knative!\n"), diagnostics(ev, ns)
    print(f"\ncold start through the gateway: {time.monotonic() - t0:.2f}s")
