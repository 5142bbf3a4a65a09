"""Broker defaults: class annotation and Knative's delivery defaults (config-br-defaults)."""

from __future__ import annotations

import copy
from typing import Any

from knpy.apis.duck.delivery import DEFAULT_BROKER_DELIVERY
from knpy.apis.eventing.v1.register import BROKER_CLASS_ANNOTATION, DEFAULT_BROKER_CLASS

__all__ = ["set_broker_defaults"]


def set_broker_defaults(raw: dict[str, Any], *, broker_class: str = DEFAULT_BROKER_CLASS,
                        delivery: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return a defaulted copy: a class annotation, and a delivery spec when none is set.

    A broker with a delivery spec keeps it as written (Knative does not merge defaults into
    a partial spec; the dispatcher's unset-field defaults apply instead).
    """
    out = copy.deepcopy(raw)
    md = out.setdefault("metadata", {})
    ann = md.get("annotations") or {}
    if not ann.get(BROKER_CLASS_ANNOTATION):
        md["annotations"] = {**ann, BROKER_CLASS_ANNOTATION: broker_class}
    spec = out.get("spec")
    if not isinstance(spec, dict):
        spec = out["spec"] = {}
    if not spec.get("delivery"):
        spec["delivery"] = copy.deepcopy(delivery or DEFAULT_BROKER_DELIVERY)
    return out
