"""ContainerSource validation: a template with at least one container with an image."""

from __future__ import annotations

from typing import Any

from knpy.apis.sources.v1.source_duck import validate_ce_overrides, validate_sink
from knpy.runtime.config import FieldError

__all__ = ["validate_containersource"]


def validate_containersource(raw: dict[str, Any], _old: dict[str, Any] | None = None
                             ) -> FieldError:
    spec = raw.get("spec")
    if not isinstance(spec, dict):
        return FieldError.missing("spec")
    ns = (raw.get("metadata") or {}).get("namespace", "")
    errs = FieldError.none()
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") \
        if isinstance(spec.get("template"), dict) else None
    if not containers or not isinstance(containers, list):
        errs = errs.also(FieldError.missing("template.spec.containers"))
    else:
        for i, c in enumerate(containers):
            if not isinstance(c, dict) or not c.get("image"):
                errs = errs.also(FieldError.missing("image").via_field_index(
                    "template.spec.containers", i))
    errs = errs.also(validate_sink(spec, ns), validate_ce_overrides(spec))
    return errs.via_field("spec")
