"""PodAutoscaler validation: scaleTargetRef, containerConcurrency, reachability,
protocolType and the autoscaling annotations; scaleTargetRef is immutable."""

from __future__ import annotations

from typing import Any

from knpy.apis.autoscaling.annotations import parse_annotations
from knpy.apis.autoscaling.config import AutoscalerConfig
from knpy.apis.autoscaling.v1alpha1.podautoscaler_types import PodAutoscaler
from knpy.apis.autoscaling.v1alpha1.register import REACHABILITIES
from knpy.runtime.config import FieldError

__all__ = ["validate_podautoscaler", "validate_podautoscaler_update"]


def validate_podautoscaler(raw: dict[str, Any], cfg: AutoscalerConfig | None = None
                           ) -> FieldError:
    pa = PodAutoscaler(raw)
    spec = raw.get("spec")
    if not isinstance(spec, dict):
        return FieldError.missing("spec")
    errs = FieldError.none()
    ref = spec.get("scaleTargetRef")
    if not isinstance(ref, dict):
        errs = errs.also(FieldError.missing("spec.scaleTargetRef"))
    else:
        for k in ("apiVersion", "kind", "name"):
            if not ref.get(k):
                errs = errs.also(FieldError.missing(f"spec.scaleTargetRef.{k}"))
    cc = spec.get("containerConcurrency", 0)
    if not isinstance(cc, int) or not 0 <= cc <= 1000:
        errs = errs.also(FieldError.out_of_bounds(cc, 0, 1000, "spec.containerConcurrency"))
    if pa.reachability not in REACHABILITIES:
        errs = errs.also(FieldError.invalid(pa.reachability, "spec.reachability",
                                            "want Reachable, Unreachable or empty"))
    if pa.protocol_type not in ("http1", "h2c"):
        errs = errs.also(FieldError.invalid(pa.protocol_type, "spec.protocolType",
                                            "want http1 or h2c"))
    try:
        parse_annotations(cfg or AutoscalerConfig(), pa.annotations)
    except FieldError as exc:
        errs = errs.also(exc.via_field("metadata"))
    return errs


def validate_podautoscaler_update(old: dict[str, Any], new: dict[str, Any],
                                  cfg: AutoscalerConfig | None = None) -> FieldError:
    errs = validate_podautoscaler(new, cfg)
    o = (old.get("spec") or {}).get("scaleTargetRef")
    n = (new.get("spec") or {}).get("scaleTargetRef")
    if o != n:
        errs = errs.also(FieldError.immutable("spec.scaleTargetRef", o, n))
    return errs
