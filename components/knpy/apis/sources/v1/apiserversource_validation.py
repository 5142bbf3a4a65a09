"""ApiServerSource validation: resources (apiVersion, kind, selector), mode, owner, sink."""

from __future__ import annotations

from typing import Any

from knpy.apis.sources.v1.register import MODE_REFERENCE, MODE_RESOURCE
from knpy.apis.sources.v1.sinkbinding_validation import _validate_selector
from knpy.apis.sources.v1.source_duck import validate_ce_overrides, validate_sink
from knpy.runtime.config import FieldError

__all__ = ["validate_apiserversource"]


def validate_apiserversource(raw: dict[str, Any], _old: dict[str, Any] | None = None
                             ) -> FieldError:
    spec = raw.get("spec")
    if not isinstance(spec, dict):
        return FieldError.missing("spec")
    ns = (raw.get("metadata") or {}).get("namespace", "")
    errs = FieldError.none()
    mode = spec.get("mode")
    if mode not in (None, "", MODE_REFERENCE, MODE_RESOURCE):
        errs = errs.also(FieldError.invalid(mode, "mode", "want Reference or Resource"))
    res = spec.get("resources")
    if not res:
        errs = errs.also(FieldError.missing("resources"))
    elif not isinstance(res, list):
        errs = errs.also(FieldError.invalid(res, "resources", "want a list"))
    else:
        for i, r in enumerate(res):
            e = FieldError.none()
            if not isinstance(r, dict):
                e = FieldError.invalid(r, "", "want {apiVersion, kind, selector}")
            else:
                for f in ("apiVersion", "kind"):
                    if not r.get(f):
                        e = e.also(FieldError.missing(f))
                if r.get("selector") is not None:
                    e = e.also(_validate_selector(r["selector"]).via_field("selector"))
            errs = errs.also(e.via_field_index("resources", i))
    nsel = spec.get("namespaceSelector")
    if nsel is not None and nsel != {}:  # {} selects every namespace (as Knative)
        errs = errs.also(_validate_selector(nsel).via_field("namespaceSelector"))
    owner = spec.get("owner")
    if owner is not None and (not isinstance(owner, dict) or not owner.get("kind")):
        errs = errs.also(FieldError.missing("owner.kind"))
    errs = errs.also(validate_sink(spec, ns), validate_ce_overrides(spec))
    return errs.via_field("spec")
