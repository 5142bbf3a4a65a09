"""Owner references: children a reconciler creates point at their controlling owner."""

from __future__ import annotations

from collections.abc import Callable

from knpy.runtime.k8s.resources import Obj, Resource

__all__ = ["controlled_by_keys", "is_controlled_by", "owner_reference"]


def owner_reference(owner: Obj, *, controller: bool = True,
                    block_owner_deletion: bool = True) -> dict:
    md = owner["metadata"]
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": md["name"],
            "uid": md["uid"], "controller": controller,
            "blockOwnerDeletion": block_owner_deletion}


def controller_of(obj: Obj) -> dict | None:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def is_controlled_by(obj: Obj, owner: Obj) -> bool:
    ref = controller_of(obj)
    return ref is not None and ref.get("uid") == owner["metadata"].get("uid")


def controlled_by_keys(owner: Resource) -> Callable[[Obj], list[str]]:
    """For Controller.watch on children: the key of a child's controlling owner of the
    given kind (a change of the child re-queues its owner)."""
    def keys(o: Obj) -> list[str]:
        ref = controller_of(o)
        if ref and ref.get("kind") == owner.kind and ref.get("apiVersion") == owner.api_version:
            return [f"{o['metadata'].get('namespace')}/{ref['name']}"]
        return []
    return keys
