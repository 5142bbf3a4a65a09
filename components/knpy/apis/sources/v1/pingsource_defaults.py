"""PingSource defaults: the sink ref's namespace (Knative sets nothing else)."""

from __future__ import annotations

import copy
from typing import Any

from knpy.apis.sources.v1.source_duck import default_sink_namespace

__all__ = ["set_pingsource_defaults"]


def set_pingsource_defaults(raw: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(raw)
    spec = out.get("spec")
    if isinstance(spec, dict):
        default_sink_namespace(spec, (out.get("metadata") or {}).get("namespace", ""))
    return out
