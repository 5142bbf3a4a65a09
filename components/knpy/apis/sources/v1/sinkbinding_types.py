"""SinkBinding: spec.subject (apiVersion, kind, namespace, name | selector), sink,
ceOverrides. The binding injects K_SINK (and K_CE_OVERRIDES) into the subject's pod
template containers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from knpy.apis.duck.conditions import ConditionManager
from knpy.apis.sources.v1.sinkbinding_lifecycle import SinkBindingStatus
from knpy.apis.sources.v1.source_duck import SourceView

__all__ = ["SinkBinding", "Subject", "selector_matches", "selector_to_query"]


@dataclass(frozen=True, slots=True)
class Subject:
    api_version: str
    kind: str
    namespace: str
    name: str
    selector: dict[str, Any] | None

    @classmethod
    def from_dict(cls, d: Any, default_ns: str) -> Subject | None:
        if not isinstance(d, dict):
            return None
        sel = d.get("selector")
        return cls(str(d.get("apiVersion") or ""), str(d.get("kind") or ""),
                   str(d.get("namespace") or default_ns), str(d.get("name") or ""),
                   sel if isinstance(sel, dict) else None)


def selector_matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """metav1.LabelSelector semantics: matchLabels AND every matchExpression."""
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        key, op, vals = e.get("key"), e.get("operator"), e.get("values") or []
        if op == "In" and labels.get(key) not in vals:
            return False
        if op == "NotIn" and key in labels and labels[key] in vals:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def selector_to_query(selector: dict[str, Any]) -> str:
    """A LabelSelector as the API's labelSelector query string."""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for e in selector.get("matchExpressions") or []:
        key, op, vals = e.get("key"), e.get("operator"), e.get("values") or []
        if op == "In":
            parts.append(f"{key} in ({','.join(vals)})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({','.join(vals)})")
        elif op == "Exists":
            parts.append(str(key))
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts)


class SinkBinding(SourceView):
    @property
    def subject(self) -> Subject | None:
        return Subject.from_dict(self.spec_raw.get("subject"), self.namespace)

    def ce_overrides_env(self) -> str | None:
        """K_CE_OVERRIDES: the ceOverrides object as JSON (Knative's format), or None."""
        o = self.spec_raw.get("ceOverrides")
        if not isinstance(o, dict) or not o:
            return None
        return json.dumps(o, separators=(",", ":"), sort_keys=True)

    @property
    def status(self) -> SinkBindingStatus:
        return SinkBindingStatus(self.status_raw)

    @property
    def conditions(self) -> ConditionManager:
        return self.status.conditions
