"""sync_child on an in-memory API (runtime.k8s.testing.FakeClient): children are created,
refused when owned by someone else, updated only on drift. The reconcilers' own rows are in
tests/unit/controller/test_sources_table.py."""

from __future__ import annotations

import pytest

from knpy.apis.sources.v1 import ContainerSource
from knpy.controller.sources.adapter import container_deployment
from knpy.controller.sources.children import SPEC_HASH_ANNOTATION
from knpy.controller.sources.resources import (
    CONTAINERSOURCES,
    DEPLOYMENTS,
)
from knpy.runtime.k8s import Lister, PermanentError
from knpy.runtime.k8s.children import sync_child
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
    made = await sync_child(fc, DEPLOYMENTS, lister, owner, want,
                            hash_annotation=SPEC_HASH_ANNOTATION)
    assert [a.verb for a in fc.writes()] == ["create"]
    lister.put(made)
    # unchanged: no write, even if the API server defaulted fields into the template
    made["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = "IfNotPresent"
    await sync_child(fc, DEPLOYMENTS, lister, owner, want, hash_annotation=SPEC_HASH_ANNOTATION)
    assert len(fc.writes()) == 1
    # the source changed its image: one update with the new spec and hash
    owner["spec"]["template"]["spec"]["containers"][0]["image"] = "example/hb:2"
    want2 = container_deployment(ContainerSource(owner))
    out = await sync_child(fc, DEPLOYMENTS, lister, owner, want2,
                           hash_annotation=SPEC_HASH_ANNOTATION)
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
                         container_deployment(ContainerSource(other)),
                         hash_annotation=SPEC_HASH_ANNOTATION)
