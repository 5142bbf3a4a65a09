"""Serving's wiring: off until every Serving CRD is served (an Eventing-only install runs as
before), and children events re-queue their controlling owner."""

from __future__ import annotations

from knpy.apis.serving.configmaps import SERVING_CONFIG_PARSERS
from knpy.controller.serving.resources import (
    ALL_SERVING,
    CONFIGURATIONS,
    DOMAIN_MAPPING_KINDS,
    KSERVICES,
    REVISIONS,
)
from knpy.controller.serving.wiring import ServingControllers
from knpy.runtime.k8s import Discovery, MemoryRecorder
from knpy.runtime.k8s.ownerrefs import controlled_by_keys
from knpy.runtime.k8s.testing import FakeClient


def controllers(served=ALL_SERVING) -> ServingControllers:
    client = FakeClient()
    d = Discovery(client)
    for r in served:
        d.register(r)
    defaults = {name: parse({}) for name, parse in SERVING_CONFIG_PARSERS.items()}
    return ServingControllers(client, d, MemoryRecorder(), defaults.__getitem__)


async def test_on_only_when_every_serving_crd_is_served() -> None:
    assert await controllers().served(quiet=True)
    assert not await controllers(served=()).served(quiet=True)
    # e.g. serving.knative.dev installed but not the internal kinds
    assert not await controllers(served=ALL_SERVING[:4]).served(quiet=True)


async def test_domainmapping_joins_only_when_its_crds_are_served() -> None:
    """Helm never upgrades crds/: a release from before DomainMapping keeps Serving on."""
    old = controllers()
    assert await old.served(quiet=True)
    assert not await old.enable_domainmappings()
    assert old.domainmapping not in old.controllers
    new = controllers(served=ALL_SERVING + DOMAIN_MAPPING_KINDS)
    assert await new.enable_domainmappings()
    assert await new.enable_domainmappings()  # once only
    assert new.controllers.count(new.domainmapping) == 1
    assert {new.domainmappings, new.claims} <= set(new.informers)


def test_children_map_to_their_controlling_owner() -> None:
    def child(kind: str, owner_kind: str, api: str = "serving.knative.dev/v1") -> dict:
        return {"metadata": {"name": "c", "namespace": "ns", "ownerReferences": [
            {"apiVersion": api, "kind": owner_kind, "name": "parent", "uid": "u",
             "controller": True}]}}
    assert controlled_by_keys(KSERVICES)(child("Configuration", "Service")) == ["ns/parent"]
    assert controlled_by_keys(REVISIONS)(child("Configuration", "Service")) == []
    assert controlled_by_keys(CONFIGURATIONS)(child("Revision", "Configuration",
                                            api="example.com/v1")) == []
    assert controlled_by_keys(REVISIONS)({"metadata": {"name": "x", "namespace": "ns"}}) == []
