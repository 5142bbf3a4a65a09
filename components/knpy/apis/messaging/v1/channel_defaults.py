"""Channel defaults: spec.channelTemplate from `default-ch-webhook` (Knative's: the
namespace's default, else the cluster default); InMemoryChannel: the subscribable
annotation."""

from __future__ import annotations

import copy
from typing import Any

from knpy.apis.duck.destination import default_ref_namespace
from knpy.apis.messaging.v1.channel_config import ChannelDefaults
from knpy.apis.messaging.v1.register import SUBSCRIBABLE_ANNOTATION, SUBSCRIBABLE_VERSION

__all__ = ["set_channel_defaults", "set_in_memory_channel_defaults"]


def _default_dls_ns(spec: dict[str, Any], ns: str) -> None:
    d = spec.get("delivery")
    if isinstance(d, dict):
        default_ref_namespace(d.get("deadLetterSink"), ns)


def set_channel_defaults(raw: dict[str, Any], defaults: ChannelDefaults | None = None
                         ) -> dict[str, Any]:
    out = copy.deepcopy(raw)
    md = out.setdefault("metadata", {})
    spec = out.get("spec")
    if not isinstance(spec, dict):
        spec = out["spec"] = {}
    if not spec.get("channelTemplate"):
        spec["channelTemplate"] = (defaults or ChannelDefaults()).template_for(
            md.get("namespace", ""))
    _default_dls_ns(spec, md.get("namespace", ""))
    return out


def set_in_memory_channel_defaults(raw: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(raw)
    md = out.setdefault("metadata", {})
    ann = md.get("annotations") or {}
    if not ann.get(SUBSCRIBABLE_ANNOTATION):
        md["annotations"] = {**ann, SUBSCRIBABLE_ANNOTATION: SUBSCRIBABLE_VERSION}
    spec = out.get("spec")
    if isinstance(spec, dict):
        _default_dls_ns(spec, md.get("namespace", ""))
    return out
