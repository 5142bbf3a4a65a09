"""Channel and InMemoryChannel validation with field paths; a Channel's channelTemplate is
immutable (Knative's)."""

from __future__ import annotations

from typing import Any

from knpy.apis.messaging.v1.channelable import validate_channelable
from knpy.runtime.config import FieldError

__all__ = ["validate_channel", "validate_channel_update", "validate_in_memory_channel"]


def validate_channel(raw: dict[str, Any]) -> FieldError:
    errs = validate_channelable(raw)
    spec = raw.get("spec")
    t = spec.get("channelTemplate") if isinstance(spec, dict) else None
    if t is None:
        return errs.also(FieldError.missing("spec.channelTemplate"))
    if not isinstance(t, dict):
        return errs.also(FieldError.invalid(t, "spec.channelTemplate", "want an object"))
    for k in ("apiVersion", "kind"):
        if not t.get(k):
            errs = errs.also(FieldError.missing(f"spec.channelTemplate.{k}"))
    return errs


def validate_channel_update(old: dict[str, Any], new: dict[str, Any]) -> FieldError:
    errs = validate_channel(new)
    o = (old.get("spec") or {}).get("channelTemplate")
    n = (new.get("spec") or {}).get("channelTemplate")
    if o is not None and o != n:
        errs = errs.also(FieldError.immutable("spec.channelTemplate"))
    return errs


def validate_in_memory_channel(raw: dict[str, Any]) -> FieldError:
    return validate_channelable(raw)
