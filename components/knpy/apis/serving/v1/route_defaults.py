"""Traffic defaults (Knative's RouteSpec.SetDefaults): under a Service, no traffic means
all of it to the latest ready revision; `latestRevision` defaults to `revisionName == ""`."""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["set_route_defaults", "set_traffic_defaults"]


def set_traffic_defaults(spec: dict[str, Any], *, default_configuration: bool) -> None:
    """Default spec.traffic in place; `default_configuration` is True in a Service (whose
    Configuration the targets implicitly name)."""
    traffic = spec.get("traffic")
    if not traffic and default_configuration:
        spec["traffic"] = [{"percent": 100, "latestRevision": True}]
        return
    if isinstance(traffic, list):
        for t in traffic:
            if isinstance(t, dict) and t.get("latestRevision") is None:
                t["latestRevision"] = not t.get("revisionName")


def set_route_defaults(raw: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(raw)
    spec = out.get("spec")
    if not isinstance(spec, dict):
        spec = out["spec"] = {}
    set_traffic_defaults(spec, default_configuration=False)
    return out
