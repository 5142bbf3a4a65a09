"""The chart's CRD schemas, and what a structural schema would prune from an object.

The API server silently drops fields its structural schema does not name (and nulls in
fields that are not nullable). A controller that writes such a field sees its write answered
with the unchanged object, finds its status still differs on every reconcile and writes
again: a PUT per reconcile for nothing. Tests use `pruned` to catch that before a cluster.
"""

from __future__ import annotations

import functools
from typing import Any

import yaml

from tests.support.procs import REPO

CRDS = REPO / "charts" / "knpy" / "crds"


@functools.cache
def schemas() -> dict[tuple[str, str, str], dict[str, Any]]:
    """(group, version, kind) -> openAPIV3Schema, for every CRD in the chart."""
    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    for path in sorted(CRDS.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            spec = doc["spec"]
            for v in spec["versions"]:
                out[(spec["group"], v["name"], spec["names"]["kind"])] = \
                    v["schema"]["openAPIV3Schema"]
    return out


def schema_for(obj: dict[str, Any]) -> dict[str, Any]:
    group, _, version = obj["apiVersion"].rpartition("/")
    return schemas()[(group, version, obj["kind"])]


def pruned(value: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    """The paths under `value` that the API server would drop given `schema`."""
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return []
    out: list[str] = []
    if isinstance(value, dict):
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        for k, v in value.items():
            sub = (props or {}).get(k)
            if sub is None and isinstance(extra, dict):
                sub = extra
            if sub is None:
                if props is not None or extra is not None or schema.get("type") == "object":
                    out.append(f"{path}.{k}")
                continue
            if v is None and not sub.get("nullable"):
                out.append(f"{path}.{k} (null)")
                continue
            out += pruned(v, sub, f"{path}.{k}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, v in enumerate(value):
            out += pruned(v, schema["items"], f"{path}[{i}]")
    return out
