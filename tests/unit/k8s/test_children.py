"""runtime.k8s.children on an in-memory API: a child an owner still controls under an older
name form (knpy before kmeta.ChildName names) is deleted once its successor is synced, and
only when the caller says which children it wants, so siblings of one kind stay."""

from __future__ import annotations

import copy
import hashlib
import logging

import pytest

from knpy.runtime.k8s import Lister
from knpy.runtime.k8s.children import delete_unwanted, sync_child
from knpy.runtime.k8s.naming import child_name
from knpy.runtime.k8s.ownerrefs import owner_reference
from knpy.runtime.k8s.resources import Obj, Resource
from knpy.runtime.k8s.testing import FakeClient

DEPLOYMENTS = Resource("apps", "v1", "deployments", "Deployment")
HASH = "test.knpy.dev/spec-hash"
REV = "a-revision-name-long-enough-that-its-children-get-hashed-00001"  # 62 characters


def old_child_name(full: str, limit: int = 63) -> str:
    """The name form knpy used before kmeta.ChildName: the whole name cut, a sha256 after."""
    return full if len(full) <= limit else \
        f"{full[:limit - 9]}-{hashlib.sha256(full.encode()).hexdigest()[:8]}"


def owner() -> Obj:
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Revision",
            "metadata": {"name": REV, "namespace": "ns", "uid": "rev-uid"}}


def child(name: str, parent: Obj | None, *, labels: dict | None = None,
          deleting: bool = False) -> Obj:
    md: Obj = {"name": name, "namespace": "ns", "labels": labels or {},
               "annotations": {HASH: "h1"}}
    if parent is not None:
        md["ownerReferences"] = [owner_reference(parent)]
    if deleting:
        md["deletionTimestamp"] = "2026-12-07T00:00:00Z"
    return {"metadata": md, "spec": {"replicas": 1}}


def world(*objs: Obj) -> tuple[FakeClient, Lister]:
    fc, lister = FakeClient(), Lister(DEPLOYMENTS)
    for o in objs:
        lister.put(fc.seed(DEPLOYMENTS, o))
    return fc, lister


async def test_sole_child_deletes_the_one_left_under_the_old_name(
        caplog: pytest.LogCaptureFixture) -> None:
    rev, stranger = owner(), {**owner(), "metadata": {**owner()["metadata"], "uid": "x"}}
    old = old_child_name(REV + "-deployment")
    new = child_name(REV, "-deployment")
    assert old != new
    fc, lister = world(child(old, rev), child("unowned", None), child("theirs", stranger),
                       child("going", rev, deleting=True))
    with caplog.at_level(logging.INFO, logger="knpy.k8s.children"):
        made = await sync_child(fc, DEPLOYMENTS, lister, rev, child(new, rev),
                                hash_annotation=HASH, sole=True)
    assert made["metadata"]["name"] == new
    assert [(a.verb, a.name) for a in fc.writes()] == [("create", new), ("delete", old)]
    assert {n for (_p, _ns, n) in fc.store} == {new, "unowned", "theirs", "going"}
    assert f"deleted Deployment ns/{old}: Revision {REV} no longer wants it" in caplog.text


async def test_sole_child_in_sync_still_deletes_the_old_one() -> None:
    rev = owner()
    new, old = child(REV[:10], rev), child(REV[:10] + "-old", rev)
    fc, lister = world(new, old)
    await sync_child(fc, DEPLOYMENTS, lister, rev, copy.deepcopy(new), hash_annotation=HASH,
                     sole=True)
    assert [(a.verb, a.name) for a in fc.writes()] == [("delete", REV[:10] + "-old")]


async def test_a_slot_keeps_the_children_outside_it() -> None:
    rev = owner()
    private = {"type": "Private"}
    fc, lister = world(child("old-private", rev, labels=private),
                       child("public", rev, labels={"type": "Public"}))
    await sync_child(fc, DEPLOYMENTS, lister, rev, child("new-private", rev, labels=private),
                     hash_annotation=HASH,
                     sole=lambda o: o["metadata"]["labels"].get("type") == "Private")
    assert [a.name for a in fc.writes("delete")] == ["old-private"]
    assert (DEPLOYMENTS.plural, "ns", "public") in fc.store


async def test_without_sole_nothing_is_deleted() -> None:
    rev = owner()
    fc, lister = world(child("sibling", rev))
    await sync_child(fc, DEPLOYMENTS, lister, rev, child("mine", rev), hash_annotation=HASH)
    assert fc.writes("delete") == []


async def test_delete_unwanted_keeps_the_named_siblings_and_skips_a_stale_cache() -> None:
    rev = owner()
    fc, lister = world(*(child(f"ch-{i}", rev) for i in range(3)), child("ch-old", rev))
    lister.put(child("already-gone", rev))  # in the cache, not on the server
    gone = await delete_unwanted(fc, DEPLOYMENTS, lister, rev, {"ch-0", "ch-1", "ch-2"})
    assert sorted(gone) == ["already-gone", "ch-old"]
    assert sorted(n for (_p, _ns, n) in fc.store) == ["ch-0", "ch-1", "ch-2"]


async def test_an_owner_without_uid_deletes_nothing() -> None:
    rev = owner()
    fc, lister = world(child("orphan", None))
    del rev["metadata"]["uid"]
    assert await delete_unwanted(fc, DEPLOYMENTS, lister, rev, set()) == []
    assert fc.writes() == []
