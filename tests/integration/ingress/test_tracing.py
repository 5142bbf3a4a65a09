"""The gateway's cluster-mode reconciles are traced like the controller's: one
`reconcile ingress` span per KIngress reconcile from the gateway process, against a real
kube-apiserver, exported to an OTLP/HTTP collector on 127.0.0.1."""

from __future__ import annotations

import json

import pytest

from knpy.ingress.programmer import INGRESS_RESOURCE as INGRESSES
from knpy.runtime.k8s import SERVICES, Client
from tests.integration.ingress.test_gateway import external_name, kingress, ready, rule, split
from tests.support import otlp
from tests.support.apiserver import CRDS, install_crds, make_namespace
from tests.support.cluster import KubeAPI
from tests.support.poll import eventually
from tests.support.procs import free_port, python_module, running

pytestmark = pytest.mark.timeout(120)


async def test_each_kingress_reconcile_is_a_span(kube_apiserver: KubeAPI,
                                                  client: Client) -> None:
    install_crds(kube_apiserver, CRDS / "serving.yaml",
                 ["ingresses.networking.internal.knative.dev"])
    ns = make_namespace(kube_apiserver, "gwtrace")
    system = make_namespace(kube_apiserver, "knpy-system")
    await client.create(SERVICES, external_name(ns, "up", 8080))
    public = free_port()
    args = python_module("knpy.ingress", "--kubeconfig", kube_apiserver.kubeconfig,
                         "--namespace", system, "--host", "127.0.0.1",
                         "--port", str(public), "--internal-port", str(free_port()),
                         "--probe-port", "0", "--drain-timeout", "1")
    async with otlp.collector() as spans:
        env = {"OBSERVABILITY_CONFIG": json.dumps({
                   "tracing-protocol": "http/protobuf", "tracing-endpoint": spans.url}),
               "OTEL_BSP_SCHEDULE_DELAY": "100"}
        with running(args, port=public, env=env, ready_timeout=30):
            await client.create(INGRESSES, kingress(ns, "r", [
                rule(["r.gwtrace.example.com"], [split(ns, "up", 8080, 100)])]))
            await eventually(lambda: ready(client, ns, "r"), 30, "the KIngress Ready",
                             every=0.05)

            def succeeded() -> list[dict]:  # the reconcile that programmed it
                return [s for s in spans.spans if s["name"] == "reconcile ingress"
                        and s["attrs"] == {"knpy.reconciler": "ingress",
                                           "k8s.namespace.name": ns, "knpy.object.name": "r",
                                           "knpy.reconcile.result": "success"}]
            found = await eventually(succeeded, 15, "a reconcile span for the KIngress",
                                     detail=lambda: f"spans {spans.spans}")
    sp = found[0]
    assert (sp["service"], sp["kind"], sp["parent"]) == ("ingress", 1, "")  # INTERNAL root
    assert sp["status"] == 0  # UNSET
