"""The smallest JSON Patch (RFC 6902) diff a defaulting webhook needs: objects are walked
key by key; anything else that differs is replaced whole."""

from __future__ import annotations

from typing import Any

__all__ = ["diff"]


def _esc(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def diff(old: Any, new: Any, path: str = "") -> list[dict[str, Any]]:
    if isinstance(old, dict) and isinstance(new, dict):
        ops: list[dict[str, Any]] = []
        for k in old:
            if k not in new:
                ops.append({"op": "remove", "path": f"{path}/{_esc(k)}"})
        for k, v in new.items():
            p = f"{path}/{_esc(k)}"
            if k not in old:
                ops.append({"op": "add", "path": p, "value": v})
            else:
                ops.extend(diff(old[k], v, p))
        return ops
    if old == new:
        return []
    return [{"op": "replace", "path": path or "", "value": new}]
