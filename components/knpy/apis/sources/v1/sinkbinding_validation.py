"""SinkBinding validation: subject (apiVersion, kind, name xor selector, same namespace),
sink and ceOverrides; subject kind and apiVersion are immutable."""

from __future__ import annotations

from typing import Any

from knpy.apis.sources.v1.source_duck import validate_ce_overrides, validate_sink
from knpy.runtime.config import FieldError

__all__ = ["validate_sinkbinding", "validate_subject"]

_OPS = ("In", "NotIn", "Exists", "DoesNotExist")


def _validate_selector(sel: Any) -> FieldError:
    if not isinstance(sel, dict):
        return FieldError.invalid(sel, "", "want a label selector")
    errs = FieldError.none()
    ml = sel.get("matchLabels")
    if ml is not None and not isinstance(ml, dict):
        errs = errs.also(FieldError.invalid(ml, "matchLabels", "want a map"))
    exprs = sel.get("matchExpressions")
    if exprs is not None and not isinstance(exprs, list):
        return errs.also(FieldError.invalid(exprs, "matchExpressions", "want a list"))
    for i, e in enumerate(exprs or []):
        if not isinstance(e, dict) or not e.get("key"):
            errs = errs.also(FieldError.missing("key").via_field_index("matchExpressions", i))
            continue
        op = e.get("operator")
        if op not in _OPS:
            errs = errs.also(FieldError.invalid(op, "operator", "want In, NotIn, Exists or "
                                                "DoesNotExist").via_field_index(
                                                    "matchExpressions", i))
        elif op in ("In", "NotIn") and not e.get("values"):
            errs = errs.also(FieldError.missing("values").via_field_index("matchExpressions",
                                                                           i))
    if not ml and not exprs:
        errs = errs.also(FieldError("selector selects nothing: set matchLabels or "
                                    "matchExpressions", ""))
    return errs


def validate_subject(subj: Any, namespace: str) -> FieldError:
    """Relative to the subject ("" paths are the subject itself)."""
    if not isinstance(subj, dict):
        return FieldError.invalid(subj, "", "want an object reference")
    errs = FieldError.none()
    for f in ("apiVersion", "kind"):
        if not subj.get(f):
            errs = errs.also(FieldError.missing(f))
    ns = subj.get("namespace")
    if ns and namespace and ns != namespace:
        errs = errs.also(FieldError.invalid(ns, "namespace",
                                            f"a SinkBinding binds subjects in its own "
                                            f"namespace ({namespace})"))
    name, sel = subj.get("name"), subj.get("selector")
    if name and sel is not None:
        errs = errs.also(FieldError.one_of("name", "selector"))
    elif not name and sel is None:
        errs = errs.also(FieldError.missing_one_of("name", "selector"))
    elif sel is not None:
        errs = errs.also(_validate_selector(sel).via_field("selector"))
    return errs


def validate_sinkbinding(raw: dict[str, Any], old: dict[str, Any] | None = None) -> FieldError:
    spec = raw.get("spec")
    if not isinstance(spec, dict):
        return FieldError.missing("spec")
    ns = (raw.get("metadata") or {}).get("namespace", "")
    errs = FieldError.none()
    if spec.get("subject") is None:
        errs = errs.also(FieldError.missing("subject"))
    else:
        errs = errs.also(validate_subject(spec["subject"], ns).via_field("subject"))
    errs = errs.also(validate_sink(spec, ns), validate_ce_overrides(spec)).via_field("spec")
    if old is not None:
        o = (old.get("spec") or {}).get("subject") or {}
        n = spec.get("subject") or {}
        for f in ("apiVersion", "kind"):
            if isinstance(o, dict) and isinstance(n, dict) and o.get(f) != n.get(f):
                errs = errs.also(FieldError.immutable(f"spec.subject.{f}", o.get(f), n.get(f)))
    return errs
