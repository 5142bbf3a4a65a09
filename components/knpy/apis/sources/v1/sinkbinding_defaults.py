"""SinkBinding defaults (Knative's): subject namespace and sink ref namespace."""

from __future__ import annotations

import copy
from typing import Any

from knpy.apis.sources.v1.source_duck import default_sink_namespace

__all__ = ["set_sinkbinding_defaults"]


def set_sinkbinding_defaults(raw: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(raw)
    ns = (out.get("metadata") or {}).get("namespace", "")
    spec = out.get("spec")
    if isinstance(spec, dict):
        default_sink_namespace(spec, ns)
        subj = spec.get("subject")
        if isinstance(subj, dict) and ns:
            subj.setdefault("namespace", ns)
    return out
