"""Subscription defaults (Knative's): the namespaces of subscriber, reply and dead-letter
sink refs default to the Subscription's."""

from __future__ import annotations

import copy
from typing import Any

from knpy.apis.duck.destination import default_ref_namespace as _default_ref_ns

__all__ = ["set_subscription_defaults"]


def set_subscription_defaults(raw: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(raw)
    ns = out.setdefault("metadata", {}).get("namespace", "")
    spec = out.get("spec")
    if not isinstance(spec, dict):
        return out
    _default_ref_ns(spec.get("subscriber"), ns)
    _default_ref_ns(spec.get("reply"), ns)
    d = spec.get("delivery")
    if isinstance(d, dict):
        _default_ref_ns(d.get("deadLetterSink"), ns)
    return out
