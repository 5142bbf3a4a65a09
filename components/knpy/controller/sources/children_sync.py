"""Create-or-update of a child object, knative's reconcile_resources pattern: create if
missing, refuse if owned by someone else, update when its spec hash drifted."""

from __future__ import annotations

from knpy.controller.sources.children import SPEC_HASH_ANNOTATION
from knpy.runtime.k8s import ApiError, Client, Lister, PermanentError, Resource, is_controlled_by
from knpy.runtime.k8s.resources import Obj

__all__ = ["sync_child"]


async def sync_child(client: Client, res: Resource, lister: Lister, owner: Obj,
                     desired: Obj, *, hash_annotation: str = SPEC_HASH_ANNOTATION,
                     own_annotations: bool = False) -> Obj:
    """desired carries its spec hash in `hash_annotation` (Serving's children use their
    own key, so a user never sees a sources.* annotation on a Configuration).
    own_annotations: desired's annotations replace the child's instead of being merged in
    (a PodAutoscaler's are its Revision's: one removed there goes from the PA too)."""
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
    fresh["metadata"] = {
        **have["metadata"], "annotations": {**kept, **md["annotations"]},
        "labels": {**(have["metadata"].get("labels") or {}), **(md.get("labels") or {})}}
    fresh["spec"] = desired["spec"]
    return await client.update(res, fresh)
