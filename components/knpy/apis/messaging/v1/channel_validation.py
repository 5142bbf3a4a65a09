"""Channel and InMemoryChannel validation with field paths; a Channel's channelTemplate is
immutable (Knative's)."""

from __future__ import annotations

from typing import Any

from knpy.apis.messaging.v1.channelable import validate_channelable
from knpy.runtime.config import FieldError

__all__ = ["validate_channel", "validate_channel_template", "validate_channel_update",
           "validate_in_memory_channel"]


def validate_channel(raw: dict[str, Any]) -> FieldError:
    errs = validate_channelable(raw)
    spec = raw.get("spec")
    t = spec.get("channelTemplate") if isinstance(spec, dict) else None
    return errs.also(validate_channel_template(t).via_field("spec", "channelTemplate"))


def validate_channel_template(t: Any) -> FieldError:
    """A channelTemplate (Channel, Sequence, Parallel): an object with apiVersion and kind;
    paths relative to it."""
    if t is None:
        return FieldError.missing("")
    if not isinstance(t, dict):
        return FieldError.invalid(t, "", "want an object")
    errs = FieldError.none()
    for k in ("apiVersion", "kind"):
        if not t.get(k):
            errs = errs.also(FieldError.missing(k))
    return errs


def validate_channel_update(old: dict[str, Any], new: dict[str, Any]) -> FieldError:
    errs = validate_channel(new)
    o = (old.get("spec") or {}).get("channelTemplate")
    n = (new.get("spec") or {}).get("channelTemplate")
    if o is not None and o != n:
        errs = errs.also(FieldError.immutable("spec.channelTemplate", o, n))
    return errs


def validate_in_memory_channel(raw: dict[str, Any]) -> FieldError:
    return validate_channelable(raw)
