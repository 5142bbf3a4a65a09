"""What every source shares (duckv1.SourceSpec / SourceStatus): a sink Destination,
optional CloudEvent overrides, and status.sinkUri + status.ceAttributes."""

from __future__ import annotations

import re
from typing import Any

from knpy.apis.duck.destination import Destination
from knpy.apis.eventing.v1.meta import ObjectView
from knpy.runtime.config import FieldError

__all__ = ["SourceView", "default_sink_namespace", "validate_ce_overrides", "validate_sink"]

# CloudEvents attribute names: lower-case letters and digits
_EXT_NAME = re.compile(r"^[a-z0-9]+$")
_RESERVED = ("specversion", "id", "source", "type", "datacontenttype", "dataschema",
             "subject", "time", "data")


class SourceView(ObjectView):
    @property
    def sink(self) -> Destination | None:
        return Destination.from_dict(self.spec_raw.get("sink"))

    @property
    def ce_overrides(self) -> dict[str, str]:
        o = self.spec_raw.get("ceOverrides")
        ext = o.get("extensions") if isinstance(o, dict) else None
        return dict(ext) if isinstance(ext, dict) else {}

    @property
    def sink_uri(self) -> str | None:
        return self.status_raw.get("sinkUri")

    def init_conditions(self) -> None:
        self.conditions.initialize()

    @property
    def conditions(self):  # pragma: no cover - overridden
        raise NotImplementedError


def validate_sink(spec: dict[str, Any], namespace: str, required: bool = True) -> FieldError:
    """spec.sink relative to the spec (the caller adds "spec")."""
    raw = spec.get("sink")
    if raw is None:
        return FieldError.missing("sink") if required else FieldError.none()
    dest = Destination.from_dict(raw)
    if dest is None:
        return FieldError.invalid(raw, "sink", "want a Destination (ref and/or uri)")
    return dest.validate(namespace).via_field("sink")


def validate_ce_overrides(spec: dict[str, Any]) -> FieldError:
    o = spec.get("ceOverrides")
    if o is None:
        return FieldError.none()
    if not isinstance(o, dict):
        return FieldError.invalid(o, "ceOverrides", "want an object")
    ext = o.get("extensions")
    if ext is None:
        return FieldError.none()
    if not isinstance(ext, dict):
        return FieldError.invalid(ext, "ceOverrides.extensions", "want a map")
    errs = FieldError.none()
    for k, v in ext.items():
        if not _EXT_NAME.match(str(k)):
            errs = errs.also(FieldError.invalid(k, "ceOverrides.extensions",
                                                "keys are lower-case letters and digits"))
        elif k in _RESERVED:
            errs = errs.also(FieldError.invalid(k, "ceOverrides.extensions",
                                                "cannot override a CloudEvents core attribute"))
        elif not isinstance(v, str):
            errs = errs.also(FieldError.invalid(v, f"ceOverrides.extensions[{k}]",
                                                "want a string"))
    return errs


def default_sink_namespace(spec: dict[str, Any], namespace: str) -> None:
    """Knative's defaulting: a sink ref without a namespace gets the object's."""
    sink = spec.get("sink")
    if isinstance(sink, dict) and isinstance(sink.get("ref"), dict) and namespace:
        sink["ref"].setdefault("namespace", namespace)
