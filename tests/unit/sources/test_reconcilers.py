"""Reconciler behaviour on an in-memory API (runtime.k8s.testing.FakeClient): children are
created, refused when owned by someone else, updated only on drift; ContainerSource and
PingSource statuses."""

from __future__ import annotations

import pytest

from knpy.apis.sources.v1 import ContainerSource
from knpy.controller.eventing.resolver import URIResolver
from knpy.controller.sources.adapter import container_deployment
from knpy.controller.sources.children import SPEC_HASH_ANNOTATION
from knpy.controller.sources.children_sync import sync_child
from knpy.controller.sources.container import ContainerSourceReconciler
from knpy.controller.sources.ping import PingSourceReconciler
from knpy.controller.sources.resources import (
    CONTAINERSOURCES,
    DEPLOYMENTS,
    PINGSOURCES,
)
from knpy.runtime.k8s import Discovery, Lister, MemoryRecorder, PermanentError
from knpy.runtime.k8s.testing import FakeClient


def containersource(name: str = "cs", image: str = "example/hb") -> dict:
    return {"apiVersion": "sources.knative.dev/v1", "kind": "ContainerSource",
            "metadata": {"name": name, "namespace": "ns", "uid": "cs-uid", "generation": 1},
            "spec": {"template": {"spec": {"containers": [{"name": "c", "image": image}]}},
                     "sink": {"uri": "http://sink.example/"}}}


async def test_sync_child_creates_refuses_and_updates_on_drift() -> None:
    fc = FakeClient()
    lister = Lister()
    owner = fc.seed(CONTAINERSOURCES, containersource())
    want = container_deployment(ContainerSource(owner))
    made = await sync_child(fc, DEPLOYMENTS, lister, owner, want)
    assert [a.verb for a in fc.writes()] == ["create"]
    lister.put(made)
    # unchanged: no write, even if the API server defaulted fields into the template
    made["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = "IfNotPresent"
    await sync_child(fc, DEPLOYMENTS, lister, owner, want)
    assert len(fc.writes()) == 1
    # the source changed its image: one update with the new spec and hash
    owner["spec"]["template"]["spec"]["containers"][0]["image"] = "example/hb:2"
    want2 = container_deployment(ContainerSource(owner))
    out = await sync_child(fc, DEPLOYMENTS, lister, owner, want2)
    assert [a.verb for a in fc.writes()] == ["create", "update"]
    assert out["spec"]["template"]["spec"]["containers"][0]["image"] == "example/hb:2"
    assert out["metadata"]["annotations"][SPEC_HASH_ANNOTATION] == \
        want2["metadata"]["annotations"][SPEC_HASH_ANNOTATION]
    # a same-named Deployment someone else owns is never taken over
    stranger = fc.seed(DEPLOYMENTS, {"metadata": {"name": "other-deployment",
                                                  "namespace": "ns"}})
    lister.put(stranger)
    other = containersource("other")
    with pytest.raises(PermanentError, match="not owned by ContainerSource other"):
        await sync_child(fc, DEPLOYMENTS, lister, fc.seed(CONTAINERSOURCES, other),
                         container_deployment(ContainerSource(other)))


async def test_containersource_reconcile_creates_deployment_and_binding() -> None:
    fc = FakeClient()
    src = fc.seed(CONTAINERSOURCES, containersource())
    sources, deps, sbs = Lister(), Lister(), Lister()
    sources.put(src)
    rec = ContainerSourceReconciler(fc, sources, MemoryRecorder(), deployments=deps,
                                    sinkbindings=sbs)
    await rec.reconcile("ns/cs")
    created = {(a.resource, a.name) for a in fc.writes("create")}
    assert created == {("deployments", "cs-deployment"), ("sinkbindings", "cs-sinkbinding")}
    sb = fc.store[("sinkbindings", "ns", "cs-sinkbinding")]
    assert sb["spec"]["subject"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                     "namespace": "ns", "name": "cs-deployment"}
    assert sb["metadata"]["ownerReferences"][0]["uid"] == "cs-uid"
    st = fc.store[("containersources", "ns", "cs")]["status"]
    ready = {c["type"]: c["status"] for c in st["conditions"]}
    assert ready == {"Ready": "Unknown", "ReceiveAdapterReady": "Unknown",
                     "SinkBindingReady": "Unknown"}


async def test_pingsource_without_sink_is_not_ready() -> None:
    fc = FakeClient()
    ps = fc.seed(PINGSOURCES, {"metadata": {"name": "p", "namespace": "ns", "generation": 1},
                               "spec": {"schedule": "* * * * *"}})
    lister = Lister()
    lister.put(ps)
    rec = PingSourceReconciler(fc, lister, MemoryRecorder(),
                               resolver=URIResolver(fc, Discovery(fc)), deployments=Lister(),
                               system_namespace="knpy-system")
    await rec.reconcile("ns/p")
    st = fc.store[("pingsources", "ns", "p")]["status"]
    by = {c["type"]: c for c in st["conditions"]}
    assert by["SinkProvided"]["status"] == "False"
    assert by["Ready"]["status"] == "False" and "sinkUri" not in st
    assert by["Deployed"]["status"] == "Unknown"
    assert "knpy-pingsource-adapter" in by["Deployed"]["message"]
