"""Names and fingerprints for the objects a reconciler owns: a child name that stays a
valid DNS label however long its parent's name is, and a spec hash that detects drift
without fighting the API server's defaulting (compare the hash of what we asked for, not
the object the server returns)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["child_name", "spec_hash"]


def spec_hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def child_name(prefix: str, name: str, limit: int = 63) -> str:
    """prefix+name, shortened with a hash when longer than a DNS label allows."""
    full = f"{prefix}{name}"
    if len(full) <= limit:
        return full
    h = hashlib.sha256(full.encode()).hexdigest()[:8]
    return f"{full[:limit - 9]}-{h}"
