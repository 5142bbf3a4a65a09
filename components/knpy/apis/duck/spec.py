"""The check every kind with a required spec starts with."""

from __future__ import annotations

from typing import Any

from knpy.runtime.config import FieldError

__all__ = ["required_spec"]


def required_spec(raw: dict[str, Any]) -> tuple[dict[str, Any], FieldError]:
    """raw's spec, or {} and why it is not a usable one (missing, or not an object)."""
    spec = raw.get("spec")
    if isinstance(spec, dict):
        return spec, FieldError.none()
    return {}, (FieldError.missing("spec") if spec is None else
                FieldError.invalid(spec, "spec", "want an object"))
