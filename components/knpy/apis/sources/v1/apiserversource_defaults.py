"""ApiServerSource defaults (Knative's): mode Reference, serviceAccountName default."""

from __future__ import annotations

import copy
from typing import Any

from knpy.apis.sources.v1.register import MODE_REFERENCE
from knpy.apis.sources.v1.source_duck import default_sink_namespace

__all__ = ["set_apiserversource_defaults"]


def set_apiserversource_defaults(raw: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(raw)
    spec = out.get("spec")
    if isinstance(spec, dict):
        spec.setdefault("mode", MODE_REFERENCE)
        if not spec.get("mode"):
            spec["mode"] = MODE_REFERENCE
        if not spec.get("serviceAccountName"):
            spec["serviceAccountName"] = "default"
        default_sink_namespace(spec, (out.get("metadata") or {}).get("namespace", ""))
    return out
