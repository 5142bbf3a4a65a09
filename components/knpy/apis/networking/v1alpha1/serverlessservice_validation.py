"""ServerlessService validation: mode, objectRef, protocolType, numActivators;
objectRef is immutable."""

from __future__ import annotations

from typing import Any

from knpy.apis.networking.v1alpha1.register import MODES
from knpy.runtime.config import FieldError

__all__ = ["validate_serverlessservice", "validate_serverlessservice_update"]


def validate_serverlessservice(raw: dict[str, Any]) -> FieldError:
    spec = raw.get("spec")
    if not isinstance(spec, dict):
        return FieldError.missing("spec")
    errs = FieldError.none()
    if spec.get("mode") not in MODES:
        errs = errs.also(FieldError.invalid(spec.get("mode"), "mode", "want Serve or Proxy"))
    ref = spec.get("objectRef")
    if not isinstance(ref, dict):
        errs = errs.also(FieldError.missing("objectRef"))
    else:
        for k in ("apiVersion", "kind", "name"):
            if not ref.get(k):
                errs = errs.also(FieldError.missing(f"objectRef.{k}"))
    if spec.get("protocolType", "http1") not in ("http1", "h2c"):
        errs = errs.also(FieldError.invalid(spec.get("protocolType"), "protocolType",
                                            "want http1 or h2c"))
    n = spec.get("numActivators", 0)
    if not isinstance(n, int) or n < 0:
        errs = errs.also(FieldError.invalid(n, "numActivators", "must be >= 0"))
    return errs.via_field("spec")


def validate_serverlessservice_update(old: dict[str, Any], new: dict[str, Any]) -> FieldError:
    errs = validate_serverlessservice(new)
    o, n = (old.get("spec") or {}).get("objectRef"), (new.get("spec") or {}).get("objectRef")
    if o != n:
        errs = errs.also(FieldError.immutable("spec.objectRef", o, n))
    return errs
