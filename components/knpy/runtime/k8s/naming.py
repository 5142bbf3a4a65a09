"""Names and fingerprints for the objects a reconciler owns: a child name that stays a
valid DNS label however long its parent's name is, and a spec hash that detects drift
without fighting the API server's defaulting (compare the hash of what we asked for, not
the object the server returns)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["child_name", "spec_hash"]

_LONGEST = 63  # a DNS label: the strictest name limit (Services)
_MD5_HEX = 32
_HEAD = _LONGEST - _MD5_HEX  # what is left of the parent beside a whole md5


def spec_hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def child_name(parent: str, suffix: str) -> str:
    """parent+suffix, as Knative's kmeta.ChildName names it, so a manifest gives the same
    child names here as on Knative. Too long for a DNS label: the parent is cut and the
    md5 of the whole parent takes the cut part's place, the suffix kept. A suffix too long
    for that (31+ characters) gets the md5 of parent+suffix after at most 31 characters of
    the parent, padded with the suffix's start, ending on a letter or digit."""
    if len(parent) + len(suffix) <= _LONGEST:
        return parent + suffix
    if len(suffix) < _HEAD:
        return parent[:_HEAD - len(suffix)] + _md5(parent) + suffix
    name = parent[:_HEAD] + _md5(parent + suffix)
    name += suffix[:_LONGEST - len(name)]
    while not name[-1].isascii() or not name[-1].isalnum():
        name = name[:-1]
    return name


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()
