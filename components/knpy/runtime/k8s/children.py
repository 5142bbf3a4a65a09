"""Create-or-update of a child object, knative's reconcile_resources pattern: create if
missing, refuse if owned by someone else, update when it drifted; and deletion of the
children an owner controls but no longer wants (a child left under an older name form, a
flow's removed step)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection

from knpy.runtime.k8s.client import Client
from knpy.runtime.k8s.errors import ApiError, PermanentError
from knpy.runtime.k8s.informer import Lister
from knpy.runtime.k8s.ownerrefs import is_controlled_by
from knpy.runtime.k8s.resources import Obj, Resource

__all__ = ["NotControlled", "delete_unwanted", "sync_child"]

log = logging.getLogger("knpy.k8s.children")

Slot = Callable[[Obj], bool]


class NotControlled(PermanentError):
    """The child exists and another owner controls it (left alone)."""

    def __init__(self, res: Resource, child: Obj, owner: Obj) -> None:
        md = child["metadata"]
        super().__init__(f"{res.kind} {md['namespace']}/{md['name']} exists and is not "
                         f"owned by {owner['kind']} {owner['metadata']['name']}")
        self.kind = res.kind


async def sync_child(client: Client, res: Resource, lister: Lister, owner: Obj,
                     desired: Obj, *, hash_annotation: str | None = None,
                     same: Callable[[Obj, Obj], bool] | None = None,
                     kept_spec: tuple[str, ...] = (), own_annotations: bool = False,
                     own_labels: bool = False, sole: bool | Slot = False) -> Obj:
    """Drift is judged one of two ways. `hash_annotation`: desired carries its hash under
    that key (each API group its own, so a user never sees a sources.* annotation on a
    Configuration) and whatever the hash covers is what a change to triggers an update;
    this does not fight the API server's defaulting. `same(have, desired)`: for children
    built already defaulted (flows' channels and Subscriptions), the live object itself is
    compared, so a child edited by hand is put back.
    kept_spec: spec fields others write (a channel's subscribers), kept on update.
    own_annotations / own_labels: desired's annotations / labels replace the child's
    instead of being merged in (a PodAutoscaler's annotations are its Revision's, a
    Configuration's labels and annotations its Service's: one removed there goes from the
    child too, as Knative replaces them).
    sole: the owner has this one child of `res` (True), or this one among the children a
    predicate selects (its slot: a Service among private and public ones); any other it
    controls there (left under an older name form) is deleted once this one is synced. Off
    by default: an owner with several children of one kind lists the names it wants
    (delete_unwanted)."""
    child = await _sync(client, res, lister, owner, desired, hash_annotation, same,
                        kept_spec, own_annotations, own_labels)
    if sole is not False:
        await delete_unwanted(client, res, lister, owner, {desired["metadata"]["name"]},
                              slot=None if sole is True else sole)
    return child


async def delete_unwanted(client: Client, res: Resource, lister: Lister, owner: Obj,
                          keep: Collection[str], *, slot: Slot | None = None) -> list[str]:
    """Delete each `res` in the owner's namespace that it controls, whose name is not in
    `keep` (and that `slot` selects, when given), read from the informer's cache; returns
    the names deleted. One already being deleted is left to finish."""
    ns = owner["metadata"].get("namespace")
    gone: list[str] = []
    if not owner["metadata"].get("uid"):
        return gone  # nothing can be told controlled by it
    for obj in lister.list(ns, lambda o: is_controlled_by(o, owner)):
        md = obj["metadata"]
        if md["name"] in keep or md.get("deletionTimestamp") or \
                (slot is not None and not slot(obj)):
            continue
        try:
            await client.delete(res, ns, md["name"])
        except ApiError as exc:
            if not exc.not_found:  # not found: a stale cache, already gone
                raise
        log.info("deleted %s %s/%s: %s %s no longer wants it", res.kind, ns, md["name"],
                 owner["kind"], owner["metadata"]["name"])
        gone.append(md["name"])
    return gone


async def _sync(client: Client, res: Resource, lister: Lister, owner: Obj, desired: Obj,
                hash_annotation: str | None, same: Callable[[Obj, Obj], bool] | None,
                kept_spec: tuple[str, ...], own_annotations: bool, own_labels: bool) -> Obj:
    md = desired["metadata"]
    have = lister.get(md["namespace"], md["name"])
    if have is None:
        try:
            return await client.create(res, desired)
        except ApiError as exc:
            if not exc.already_exists:
                raise
            have = await client.get(res, md["namespace"], md["name"])
    if not is_controlled_by(have, owner):
        raise NotControlled(res, desired, owner)
    if _in_sync(have, desired, hash_annotation, same):
        return have
    fresh = dict(have)
    # desired labels and annotations win, others' stay (e.g. a Service's new lastModifier
    # reaches its Configuration)
    kept = {} if own_annotations else have["metadata"].get("annotations") or {}
    kept_labels = {} if own_labels else have["metadata"].get("labels") or {}
    fresh["metadata"] = {
        **have["metadata"], "annotations": {**kept, **(md.get("annotations") or {})},
        "labels": {**kept_labels, **(md.get("labels") or {})}}
    fresh["spec"] = desired["spec"]
    spec = have.get("spec") or {}
    if any(k in spec for k in kept_spec):
        fresh["spec"] = {**desired["spec"], **{k: spec[k] for k in kept_spec if k in spec}}
    updated = await client.update(res, fresh)
    lister.observe(updated)
    return updated


def _in_sync(have: Obj, desired: Obj, hash_annotation: str | None,
             same: Callable[[Obj, Obj], bool] | None) -> bool:
    if same is not None:
        return same(have, desired)
    if hash_annotation is None:
        raise TypeError("sync_child needs hash_annotation or same")
    want = desired["metadata"]["annotations"][hash_annotation]
    return ((have.get("metadata") or {}).get("annotations") or {}).get(hash_annotation) == want
