"""Helpers for the children sources create: Deployment availability, a spec hash that
detects drift without fighting API-server defaulting, and short child names."""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["SPEC_HASH_ANNOTATION", "child_name", "deployment_available", "spec_hash"]

SPEC_HASH_ANNOTATION = "sources.knpy.dev/spec-hash"


def spec_hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def child_name(prefix: str, name: str, limit: int = 63) -> str:
    """prefix+name, shortened with a hash when longer than a DNS label allows."""
    full = f"{prefix}{name}"
    if len(full) <= limit:
        return full
    h = hashlib.sha256(full.encode()).hexdigest()[:8]
    return f"{full[:limit - 9]}-{h}"


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
