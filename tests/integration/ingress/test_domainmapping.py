"""DomainMapping end to end on 127.0.0.1: the controller (in-process, real kube-apiserver)
claims the domain and writes the KIngress, the gateway process routes it.

The chain is the cluster's: `hello.example.org` -> the gateway's public listener ->
rewriteHost `hello.<ns>.svc.cluster.local` -> Service `hello` (the Route's placeholder; an
ExternalName naming 127.0.0.1 here, as no kube-proxy or DNS runs) port 80 -> the gateway's
internal listener, bound to 127.0.0.1:80 -> the Route's ClusterLocal rule -> the upstream.
The Route is real (its address comes from the Route reconciler); its KIngress is written by
hand, as its Revisions cannot run here."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest

from knpy.controller.serving.resources import (
    CLUSTERDOMAINCLAIMS,
    DOMAINMAPPINGS,
    INGRESSES,
    ROUTES,
)
from knpy.runtime.k8s import CONFIGMAPS, SERVICES, ApiError, Client
from tests.integration.controller.test_serving import SERVING_KINDS, cond
from tests.integration.ingress.test_gateway import (
    external_name,
    kingress,
    rule,
    split,
    upstream,
)
from tests.support.apiserver import CRDS, controller_app, install_crds, make_namespace
from tests.support.cluster import KubeAPI
from tests.support.poll import eventually
from tests.support.procs import free_port, python_module, running

pytestmark = pytest.mark.timeout(180)

DOMAIN = "hello.example.org"


def port_80_free() -> bool:
    with socket.socket() as s:
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", 80))
            return True
        except OSError:
            return False


@pytest.fixture
async def stack(kube_crds: KubeAPI, client: Client) -> AsyncIterator[dict]:
    if not port_80_free():
        pytest.skip("127.0.0.1:80 is taken (the gateway's internal listener needs it)")
    install_crds(kube_crds, CRDS / "serving.yaml", SERVING_KINDS)
    runner, up = await upstream("hello")
    try:
        async with controller_app(kube_crds, client) as (_app, system):
            await client.create(CONFIGMAPS, {
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "config-network", "namespace": system},
                "data": {"autocreate-cluster-domain-claims": "true"}})
            public = free_port()
            args = python_module("knpy.ingress", "--kubeconfig", kube_crds.kubeconfig,
                                 "--namespace", system, "--host", "127.0.0.1",
                                 "--port", str(public), "--internal-port", "80",
                                 "--probe-port", str(free_port()), "--drain-timeout", "1")
            with running(args, port=public, ready_timeout=30):
                async with aiohttp.ClientSession() as http:
                    yield {"public": public, "up": up, "http": http}
    finally:
        await runner.cleanup()


def domainmapping(ns: str) -> dict:
    return {"apiVersion": "serving.knative.dev/v1beta1", "kind": "DomainMapping",
            "metadata": {"name": DOMAIN, "namespace": ns},
            "spec": {"ref": {"apiVersion": "serving.knative.dev/v1", "kind": "Route",
                             "name": "hello", "namespace": ns}}}


async def test_a_domain_mapping_routes_to_its_route_and_the_domain_is_claimed_once(
        stack: dict, kube_crds: KubeAPI, client: Client) -> None:
    ns = make_namespace(kube_crds, "dm")
    await client.create(ROUTES, {"apiVersion": "serving.knative.dev/v1", "kind": "Route",
                                 "metadata": {"name": "hello", "namespace": ns},
                                 "spec": {"traffic": [{"revisionName": "hello-00001",
                                                       "percent": 100}]}})
    local = f"hello.{ns}.svc.cluster.local"
    await client.create(SERVICES, external_name(ns, "up", stack["up"]))
    await client.create(SERVICES, external_name(ns, "hello", 80))
    await client.create(INGRESSES, kingress(ns, "hello-local", [
        rule([local], [split(ns, "up", stack["up"], 100)], "ClusterLocal")]))
    await client.create(DOMAINMAPPINGS, domainmapping(ns))

    async def ready() -> dict | None:
        dm = await client.get(DOMAINMAPPINGS, ns, DOMAIN)
        return dm if cond(dm, "Ready").get("status") == "True" else None
    dm = await eventually(ready, 60, "the DomainMapping Ready", every=0.1)
    assert dm["status"]["url"] == f"http://{DOMAIN}"
    assert dm["status"]["address"] == {"url": f"http://{DOMAIN}"}
    claim = await client.get(CLUSTERDOMAINCLAIMS, None, DOMAIN)
    assert claim["spec"] == {"namespace": ns}

    # Ready means the gateway routes it: one request, through both gateway hops
    async with stack["http"].get(f"http://127.0.0.1:{stack['public']}/x",
                                 headers={"Host": DOMAIN},
                                 timeout=aiohttp.ClientTimeout(total=10)) as r:
        assert r.status == 200, await r.text()
        body = await r.json()
        assert body["headers"]["host"] == local  # rewritten to the Route's host

    # the same domain from another namespace: refused, naming the claim's namespace
    other = make_namespace(kube_crds, "dm2")
    await client.create(DOMAINMAPPINGS, domainmapping(other))

    async def refused() -> dict | None:
        c = cond(await client.get(DOMAINMAPPINGS, other, DOMAIN), "Ready")
        return c if c.get("status") == "False" else None
    c = await eventually(refused, 60, "the second DomainMapping refused", every=0.1)
    assert c["reason"] == "DomainAlreadyClaimed"
    assert repr(ns) in c["message"]
    with pytest.raises(ApiError) as err:
        await client.get(INGRESSES, other, DOMAIN)
    assert err.value.not_found
