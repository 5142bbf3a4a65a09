"""PodAutoscaler defaults: the KPA class when none is annotated, containerConcurrency 0,
protocolType http1 (Knative's pa_defaults.go)."""

from __future__ import annotations

import copy
from typing import Any

from knpy.apis.autoscaling.annotations import CLASS, KPA_CLASS

__all__ = ["set_podautoscaler_defaults"]


def set_podautoscaler_defaults(raw: dict[str, Any], *, autoscaler_class: str = KPA_CLASS
                               ) -> dict[str, Any]:
    out = copy.deepcopy(raw)
    md = out.setdefault("metadata", {})
    ann = md.get("annotations") or {}
    if not ann.get(CLASS):
        md["annotations"] = {**ann, CLASS: autoscaler_class}
    spec = out.get("spec")
    if not isinstance(spec, dict):
        spec = out["spec"] = {}
    spec.setdefault("containerConcurrency", 0)
    spec.setdefault("protocolType", "http1")
    return out
