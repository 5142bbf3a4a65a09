"""Names and fingerprints for the objects a reconciler owns: a child name that stays a
valid DNS label however long its parent's name is, and a spec hash that detects drift
without fighting the API server's defaulting (compare the hash of what we asked for, not
the object the server returns)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["child_name", "spec_hash", "suffixed_name"]


def spec_hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def child_name(prefix: str, name: str, limit: int = 63) -> str:
    """prefix+name, shortened with a hash when longer than a DNS label allows."""
    full = f"{prefix}{name}"
    if len(full) <= limit:
        return full
    h = hashlib.sha256(full.encode()).hexdigest()[:8]
    return f"{full[:limit - 9]}-{h}"


def suffixed_name(parent: str, suffix: str, limit: int = 63) -> str:
    """parent+suffix with the suffix kept (as Knative's kmeta.ChildName): a parent too long
    for both is cut and a hash of it takes the cut part's place, so two long parents
    sharing a prefix still get different names."""
    full = f"{parent}{suffix}"
    if len(full) <= limit:
        return full
    h = hashlib.sha256(parent.encode()).hexdigest()[:8]
    return f"{parent[:limit - len(suffix) - 9]}-{h}{suffix}"
