"""Create-or-update of a child object, knative's reconcile_resources pattern: create if
missing, refuse if owned by someone else, update when its spec hash drifted."""

from __future__ import annotations

from knpy.runtime.k8s.client import Client
from knpy.runtime.k8s.errors import ApiError, PermanentError
from knpy.runtime.k8s.informer import Lister
from knpy.runtime.k8s.ownerrefs import is_controlled_by
from knpy.runtime.k8s.resources import Obj, Resource

__all__ = ["sync_child"]


async def sync_child(client: Client, res: Resource, lister: Lister, owner: Obj,
                     desired: Obj, *, hash_annotation: str, own_annotations: bool = False,
                     own_labels: bool = False) -> Obj:
    """desired carries its hash in `hash_annotation` (each API group its own key, so a user
    never sees a sources.* annotation on a Configuration); whatever the hash covers is
    what a change to triggers an update.
    own_annotations / own_labels: desired's annotations / labels replace the child's
    instead of being merged in (a PodAutoscaler's annotations are its Revision's, a
    Configuration's labels and annotations its Service's: one removed there goes from the
    child too, as Knative replaces them)."""
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
        raise PermanentError(f"{res.kind} {md['namespace']}/{md['name']} exists and is not "
                             f"owned by {owner['kind']} {owner['metadata']['name']}")
    want_hash = md["annotations"][hash_annotation]
    if ((have.get("metadata") or {}).get("annotations") or {}).get(
            hash_annotation) == want_hash:
        return have
    fresh = dict(have)
    # desired labels and annotations win, others' stay (e.g. a Service's new lastModifier
    # reaches its Configuration)
    kept = {} if own_annotations else have["metadata"].get("annotations") or {}
    kept_labels = {} if own_labels else have["metadata"].get("labels") or {}
    fresh["metadata"] = {
        **have["metadata"], "annotations": {**kept, **md["annotations"]},
        "labels": {**kept_labels, **(md.get("labels") or {})}}
    fresh["spec"] = desired["spec"]
    return await client.update(res, fresh)
