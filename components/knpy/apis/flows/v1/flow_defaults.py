"""Sequence and Parallel defaults (Knative's): spec.channelTemplate from `default-ch-webhook`
when unset (the namespace's default, else the cluster's, as a Channel gets it), and the
namespaces of every ref (steps, branches, replies, dead-letter sinks) the object's."""

from __future__ import annotations

import copy
from typing import Any

from knpy.apis.duck.destination import default_ref_namespace
from knpy.apis.messaging.v1.channel_config import ChannelDefaults

__all__ = ["set_parallel_defaults", "set_sequence_defaults"]


def _dls(delivery: Any, ns: str) -> None:
    if isinstance(delivery, dict):
        default_ref_namespace(delivery.get("deadLetterSink"), ns)


def _list(spec: dict[str, Any], key: str) -> list[dict[str, Any]]:
    v = spec.get(key)
    return [x for x in v if isinstance(x, dict)] if isinstance(v, list) else []


def _common(raw: dict[str, Any], defaults: ChannelDefaults | None
            ) -> tuple[dict[str, Any], dict[str, Any], str]:
    out = copy.deepcopy(raw)
    ns = out.setdefault("metadata", {}).get("namespace", "")
    spec = out.get("spec")
    if not isinstance(spec, dict):
        spec = out["spec"] = {}
    if not spec.get("channelTemplate"):
        spec["channelTemplate"] = (defaults or ChannelDefaults()).template_for(ns)
    default_ref_namespace(spec.get("reply"), ns)
    return out, spec, ns


def set_sequence_defaults(raw: dict[str, Any], defaults: ChannelDefaults | None = None
                          ) -> dict[str, Any]:
    out, spec, ns = _common(raw, defaults)
    for step in _list(spec, "steps"):
        default_ref_namespace(step, ns)  # a step is a Destination inline
        _dls(step.get("delivery"), ns)
    return out


def set_parallel_defaults(raw: dict[str, Any], defaults: ChannelDefaults | None = None
                          ) -> dict[str, Any]:
    out, spec, ns = _common(raw, defaults)
    for b in _list(spec, "branches"):
        for k in ("filter", "subscriber", "reply"):
            default_ref_namespace(b.get(k), ns)
        _dls(b.get("delivery"), ns)
    return out
