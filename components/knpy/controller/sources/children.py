"""Helpers for the children sources create: Deployment availability and the annotation
that carries their spec hash (knpy.runtime.k8s.naming)."""

from __future__ import annotations

from typing import Any

__all__ = ["SPEC_HASH_ANNOTATION", "deployment_available"]

SPEC_HASH_ANNOTATION = "sources.knpy.dev/spec-hash"


def deployment_available(dep: dict[str, Any] | None) -> tuple[bool, str]:
    if dep is None:
        return False, "the Deployment does not exist"
    st = dep.get("status") or {}
    for c in st.get("conditions") or []:
        if c.get("type") == "Available":
            return c.get("status") == "True", c.get("message") or "Deployment not available"
    if (st.get("availableReplicas") or 0) > 0:
        return True, ""
    return False, "the Deployment has no available replicas yet"
