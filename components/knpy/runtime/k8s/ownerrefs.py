"""Owner references: children a reconciler creates point at their controlling owner."""

from __future__ import annotations

from knpy.runtime.k8s.resources import Obj

__all__ = ["is_controlled_by", "owner_reference"]


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
