"""runtime.k8s.testing's table rows check every write: a patch (e.g. adding a finalizer)
that a row does not list fails it, as does a missing or different one; reactors answer a
verb (a SubjectAccessReview's verdict) without touching the store."""

from __future__ import annotations

import pytest

from knpy.runtime.k8s import MemoryRecorder, Reconciler, Resource
from knpy.runtime.k8s.informer import Lister
from knpy.runtime.k8s.testing import FAKE_SERVER, Action, FakeClient, Row, World, run_row

WIDGETS = Resource("example.dev", "v1", "widgets", "Widget")
REVIEWS = Resource("authorization.k8s.io", "v1", "subjectaccessreviews",
                   "SubjectAccessReview", namespaced=False)
WIDGET = {"metadata": {"name": "w", "namespace": "ns"}, "spec": {}}
FINALIZER = {"metadata": {"finalizers": ["example.dev/cleanup"]}}


class View:
    def __init__(self, raw: dict) -> None:
        self.raw = raw


class Finalizing(Reconciler[View]):
    """Adds a finalizer by patch, then asks the API whether it may list widgets."""

    def __init__(self, world: World) -> None:
        super().__init__(world.client, world.listers.setdefault("widgets", Lister(WIDGETS)),
                         WIDGETS, View, MemoryRecorder())

    async def reconcile_kind(self, obj: View) -> None:
        await self.client.patch(WIDGETS, "ns", "w", FINALIZER)
        review = await self.client.create(REVIEWS, {"spec": {"verb": "list"}})
        obj.raw["status"] = {"allowed": review["status"]["allowed"],
                             "server": self.client.api.configuration.host}


def allow(action: Action) -> dict:
    return {**action.obj, "status": {"allowed": True}}


REVIEW = {"spec": {"verb": "list"}}


def row(**want) -> Row:
    return Row("finalizer", key="ns/w", objects=[(WIDGETS, WIDGET)],
               reactors=[("create", "subjectaccessreviews", allow)],
               want_creates=[REVIEW],
               # the patch moved resourceVersion: the first status write conflicts and is
               # retried from a fresh GET
               want_status_updates=[{**WIDGET, "status": {"allowed": True,
                                                          "server": FAKE_SERVER}}] * 2, **want)


async def test_a_row_passes_only_with_the_exact_patches() -> None:
    world = await run_row(row(want_patches=[("widgets/ns/w", FINALIZER)]), Finalizing)
    assert world.client.store[("widgets", "ns", "w")]["metadata"]["finalizers"] == [
        "example.dev/cleanup"]
    assert ("subjectaccessreviews", None, "") not in world.client.store, "reactor answered"


@pytest.mark.parametrize("patches", [[], [("widgets/ns/w", {"metadata": {"finalizers": []}})],
                                     [("widgets/ns/other", FINALIZER)]])
async def test_an_unlisted_or_different_patch_fails_the_row(patches: list) -> None:
    with pytest.raises(AssertionError, match="patches"):
        await run_row(row(want_patches=patches), Finalizing)


async def test_reactor_returning_none_falls_through_to_the_store() -> None:
    client = FakeClient()
    client.react("create", "widgets", lambda a: None)
    made = await client.create(WIDGETS, {"metadata": {"name": "x", "namespace": "ns"}})
    assert client.store[("widgets", "ns", "x")]["metadata"]["uid"] == made["metadata"]["uid"]
