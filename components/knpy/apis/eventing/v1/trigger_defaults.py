"""Trigger defaults (Knative's): broker "default", the broker label, `filter: {}`, ref
namespaces."""

from __future__ import annotations

import copy
from typing import Any

from knpy.apis.duck.destination import default_ref_namespace as _default_ref_ns
from knpy.apis.eventing.v1.register import BROKER_LABEL

__all__ = ["set_trigger_defaults"]


def set_trigger_defaults(raw: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(raw)
    md = out.setdefault("metadata", {})
    spec = out.get("spec")
    if not isinstance(spec, dict):
        spec = out["spec"] = {}
    if not spec.get("broker"):
        spec["broker"] = "default"
    if spec.get("filter") is None:
        spec["filter"] = {}  # Knative: a nil filter becomes an empty one (matches all)
    labels = md.get("labels") or {}
    if labels.get(BROKER_LABEL) != spec["broker"]:
        md["labels"] = {**labels, BROKER_LABEL: spec["broker"]}
    ns = md.get("namespace", "")
    _default_ref_ns(spec.get("subscriber"), ns)
    delivery = spec.get("delivery")
    if isinstance(delivery, dict):
        _default_ref_ns(delivery.get("deadLetterSink"), ns)
    return out
