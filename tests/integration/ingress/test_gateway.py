"""The ingress gateway process (`python -m knpy.ingress`) against a real kube-apiserver,
routing to two upstream test servers on 127.0.0.1.

The splits' Services are ExternalName Services naming 127.0.0.1 (the gateway reaches an
ExternalName Service at its externalName and the split's port, as it must for
DomainMapping-style targets), since no kube-proxy runs here to carry a ClusterIP."""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from knpy.ingress.programmer import INGRESS_RESOURCE as INGRESSES
from knpy.runtime.k8s import SERVICES, Client
from tests.support.apiserver import CRDS, install_crds, make_namespace
from tests.support.cluster import KubeAPI
from tests.support.poll import eventually
from tests.support.procs import free_port, python_module, running

pytestmark = pytest.mark.timeout(120)

CLASS = "knpy.ingress.networking.knative.dev"


async def upstream(name: str) -> tuple[web.AppRunner, int]:
    """Answers with its name and the request headers it got, as JSON."""
    async def echo(req: web.Request) -> web.Response:
        return web.json_response({"name": name, "path": req.path,
                                  "headers": {k.lower(): v for k, v in req.headers.items()}})
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", echo)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, port


def external_name(ns: str, name: str, port: int) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
            "spec": {"type": "ExternalName", "externalName": "127.0.0.1",
                     "ports": [{"name": "http", "port": port}]}}


def split(ns: str, name: str, port: int, pct: int, **headers: str) -> dict:
    return {"serviceName": name, "serviceNamespace": ns, "servicePort": port,
            "percent": pct, "appendHeaders": headers}


def rule(hosts: list[str], splits: list[dict], visibility: str = "ExternalIP",
         **path: object) -> dict:
    return {"hosts": hosts, "visibility": visibility,
            "http": {"paths": [{"splits": splits, **path}]}}


def kingress(ns: str, name: str, rules: list[dict], cls: str = CLASS) -> dict:
    return {"apiVersion": "networking.internal.knative.dev/v1alpha1", "kind": "Ingress",
            "metadata": {"name": name, "namespace": ns,
                         "annotations": {"networking.knative.dev/ingress.class": cls}},
            "spec": {"rules": rules}}


@pytest.fixture
async def world(kube_apiserver: KubeAPI, client: Client) -> AsyncIterator[dict]:
    install_crds(kube_apiserver, CRDS / "serving.yaml",
                 ["ingresses.networking.internal.knative.dev"])
    ns = make_namespace(kube_apiserver, "gw")
    system = make_namespace(kube_apiserver, "knpy-system")
    (ra, pa), (rb, pb) = await upstream("a"), await upstream("b")
    await client.create(SERVICES, external_name(ns, "up-a", pa))
    await client.create(SERVICES, external_name(ns, "up-b", pb))
    public, internal, probes = free_port(), free_port(), free_port()
    args = python_module("knpy.ingress", "--kubeconfig", kube_apiserver.kubeconfig,
                         "--namespace", system, "--host", "127.0.0.1",
                         "--port", str(public), "--internal-port", str(internal),
                         "--probe-port", str(probes), "--drain-timeout", "1")
    try:
        with running(args, port=public, ready_timeout=30):
            async with aiohttp.ClientSession() as http:
                yield {"ns": ns, "system": system, "a": pa, "b": pb, "public": public,
                       "internal": internal, "probes": probes, "http": http}
    finally:
        await ra.cleanup()
        await rb.cleanup()


async def get(w: dict, host: str, path: str = "/", internal: bool = False,
              headers: dict | None = None) -> tuple[int, dict]:
    port = w["internal"] if internal else w["public"]
    async with w["http"].get(f"http://127.0.0.1:{port}{path}",
                             headers={"Host": host, **(headers or {})},
                             timeout=aiohttp.ClientTimeout(total=10)) as r:
        body = await r.text()
        return r.status, (json.loads(body) if r.status == 200 else {"text": body})


async def ready(client: Client, ns: str, name: str) -> dict | None:
    """The Ingress once Ready for its current generation."""
    ing = await client.get(INGRESSES, ns, name)
    st = ing.get("status") or {}
    if st.get("observedGeneration") != ing["metadata"]["generation"]:
        return None
    ok = any(c["type"] == "Ready" and c["status"] == "True" for c in st.get("conditions") or [])
    return ing if ok else None


async def test_routes_by_host_splits_tags_and_headers(world: dict, client: Client) -> None:
    w, ns = world, world["ns"]
    a, b = w["a"], w["b"]
    await client.create(INGRESSES, kingress(ns, "r", [
        rule(["r.gw.example.com"], [split(ns, "up-a", a, 50, **{"Knative-Serving-Revision": "a"}),
                                    split(ns, "up-b", b, 50, **{"Knative-Serving-Revision": "b"})],
             appendHeaders={"X-Route": "r"}),
        rule(["canary-r.gw.example.com"], [split(ns, "up-b", b, 100)]),
        rule(["pinned.gw.example.com"], [split(ns, "up-a", a, 100), split(ns, "up-b", b, 0)]),
        rule(["r.gw.svc.cluster.local"], [split(ns, "up-a", a, 100)], "ClusterLocal")]))
    ing = await eventually(lambda: ready(client, ns, "r"), 30, "the KIngress Ready", every=0.05)
    system = w["system"]
    assert ing["status"]["publicLoadBalancer"] == {"ingress": [
        {"domainInternal": f"knpy-ingress.{system}.svc.cluster.local"}]}
    assert ing["status"]["privateLoadBalancer"] == {"ingress": [
        {"domainInternal": f"knpy-ingress-internal.{system}.svc.cluster.local"}]}

    # 50/50 over 400 requests, each side within 40-60%; the split's headers name its side
    seen: Counter[str] = Counter()
    for _ in range(400):
        status, body = await get(w, "r.gw.example.com",
                                 headers={"Knative-Serving-Revision": "spoofed"})
        assert status == 200
        assert body["headers"]["knative-serving-revision"] == body["name"]  # replaced
        seen[body["name"]] += 1
    assert 160 <= seen["a"] <= 240 and seen["a"] + seen["b"] == 400, seen

    # path appendHeaders, X-Forwarded-For/-Proto, Forwarded
    _, body = await get(w, "R.gw.example.com:80", "/x?y=1")
    h = body["headers"]
    assert (h["x-route"], h["x-forwarded-for"], h["x-forwarded-proto"]) == ("r", "127.0.0.1",
                                                                           "http")
    assert h["forwarded"] == "for=127.0.0.1;proto=http"
    assert (body["path"], h["host"]) == ("/x", "R.gw.example.com:80")

    # 100/0 never reaches the 0% side; the tag's host reaches only its revision
    assert {(await get(w, "pinned.gw.example.com"))[1]["name"] for _ in range(50)} == {"a"}
    assert {(await get(w, "canary-r.gw.example.com"))[1]["name"] for _ in range(20)} == {"b"}

    # unknown host: 404; cluster-local: only on the internal listener
    assert (await get(w, "nope.gw.example.com"))[0] == 404
    assert (await get(w, "r.gw.svc.cluster.local"))[0] == 404
    status, body = await get(w, "r.gw.svc.cluster.local", internal=True)
    assert (status, body["name"]) == (200, "a")
    assert (await get(w, "r.gw.example.com", internal=True))[0] == 200


async def test_ready_means_the_new_generation_routes(world: dict, client: Client) -> None:
    """As Knative's conformance checker does: one request, no retry, the moment the
    Ingress is Ready for the generation that changed the route."""
    w, ns = world, world["ns"]
    target = {"a": w["a"], "b": w["b"]}
    await client.create(INGRESSES, kingress(ns, "flip", [
        rule(["flip.gw.example.com"], [split(ns, "up-a", w["a"], 100)])]))
    await eventually(lambda: ready(client, ns, "flip"), 30, "generation 1 Ready", every=0.05)
    for i, side in enumerate(["b", "a", "b", "a", "b"]):
        ing = await client.get(INGRESSES, ns, "flip")
        ing = copy.deepcopy(ing)
        ing["spec"]["rules"] = [rule([f"flip{i}.gw.example.com", "flip.gw.example.com"],
                                     [split(ns, f"up-{side}", target[side], 100)])]
        await client.update(INGRESSES, ing)
        await eventually(lambda: ready(client, ns, "flip"), 30, f"update {i} Ready", every=0.05)
        status, body = await get(w, f"flip{i}.gw.example.com")
        assert (status, body.get("name")) == (200, side)
        assert (await get(w, "flip.gw.example.com"))[1]["name"] == side


async def test_other_classes_are_left_alone(world: dict, client: Client) -> None:
    w, ns = world, world["ns"]
    await client.create(INGRESSES, kingress(ns, "theirs", [
        rule(["theirs.gw.example.com"], [split(ns, "up-a", w["a"], 100)])],
        cls="istio.ingress.networking.knative.dev"))
    await client.create(INGRESSES, kingress(ns, "ours", [
        rule(["ours.gw.example.com"], [split(ns, "up-a", w["a"], 100)])]))
    await eventually(lambda: ready(client, ns, "ours"), 30, "ours Ready", every=0.05)
    assert (await client.get(INGRESSES, ns, "theirs")).get("status") in (None, {})
    assert (await get(w, "theirs.gw.example.com"))[0] == 404
    # deleted: no longer routed
    await client.delete(INGRESSES, ns, "ours")

    async def gone() -> bool:
        return (await get(w, "ours.gw.example.com"))[0] == 404
    await eventually(gone, 30, "the deleted Ingress unrouted", every=0.05)


async def test_tag_header_paths_in_knatives_shape(world: dict, client: Client) -> None:
    """The KIngress the Route reconciler writes with tag-header-based-routing Enabled: a
    request naming a tag in Knative-Serving-Tag goes to that tag's revision, others (an
    unknown tag too) to the split, which marks them Knative-Serving-Default-Route."""
    w, ns = world, world["ns"]
    await client.create(INGRESSES, kingress(ns, "tags", [{
        "hosts": ["tags.gw.example.com"], "visibility": "ExternalIP", "http": {"paths": [
            {"headers": {"Knative-Serving-Tag": {"exact": "canary"}},
             "splits": [split(ns, "up-b", w["b"], 100)]},
            {"splits": [split(ns, "up-a", w["a"], 100)],
             "appendHeaders": {"Knative-Serving-Default-Route": "true"}}]}}]))
    await eventually(lambda: ready(client, ns, "tags"), 30, "the KIngress Ready", every=0.05)
    for tag, side, default in ((None, "a", "true"), ("canary", "b", None),
                               ("nope", "a", "true")):
        headers = {"Knative-Serving-Tag": tag} if tag else {}
        status, body = await get(w, "tags.gw.example.com", headers=headers)
        assert (status, body["name"]) == (200, side), tag
        assert body["headers"].get("knative-serving-default-route") == default, tag
