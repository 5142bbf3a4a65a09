"""Metadata rules shared by Service, Configuration and Route (Knative's
metadata_validation.go): who created and last changed the object."""

from __future__ import annotations

from typing import Any

from knpy.apis.serving.v1.register import CREATOR_ANNOTATION, LAST_MODIFIER_ANNOTATION
from knpy.runtime.config import FieldError

__all__ = ["validate_creator_update"]


def validate_creator_update(old: dict[str, Any], new: dict[str, Any]) -> FieldError:
    """The creator annotation the webhook set on create never changes; lastModifier only
    changes with the spec (Knative's ValidateCreatorAndModifier)."""
    def get(o: dict[str, Any], key: str) -> str | None:
        return ((o.get("metadata") or {}).get("annotations") or {}).get(key)
    errs = FieldError.none()
    if (new.get("metadata") or {}).get("ownerReferences"):
        return errs  # a Service's children carry what their owner sets
    keys = [CREATOR_ANNOTATION]
    if old.get("spec") == new.get("spec"):
        keys.append(LAST_MODIFIER_ANNOTATION)
    for key in keys:
        if get(old, key) is not None and get(old, key) != get(new, key):
            errs = errs.also(FieldError.immutable(f"metadata.annotations[{key}]",
                                                  get(old, key), get(new, key)))
    return errs
