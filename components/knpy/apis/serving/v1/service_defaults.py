"""Service defaults: the template's revision spec (config-defaults) and the traffic
(everything to the latest revision when none is given), and the creator / lastModifier
annotations (also on Configurations and Routes)."""

from __future__ import annotations

import copy
from typing import Any

from knpy.apis.serving.config_defaults import Defaults
from knpy.apis.serving.v1.configuration_defaults import set_template_defaults
from knpy.apis.serving.v1.register import CREATOR_ANNOTATION, LAST_MODIFIER_ANNOTATION
from knpy.apis.serving.v1.route_defaults import set_traffic_defaults

__all__ = ["set_service_defaults", "set_user_annotations"]


def set_service_defaults(raw: dict[str, Any], d: Defaults | None = None) -> dict[str, Any]:
    out = copy.deepcopy(raw)
    spec = out.get("spec")
    if not isinstance(spec, dict):
        spec = out["spec"] = {}
    set_template_defaults(spec, d or Defaults())
    set_traffic_defaults(spec, default_configuration=True)
    return out


def set_user_annotations(raw: dict[str, Any], old: dict[str, Any] | None, user: str
                         ) -> dict[str, Any]:
    """Knative's creator / lastModifier annotations on a Service, Configuration or Route:
    both on create; lastModifier again when an update changes the spec. Objects with an
    owner (a Service's Configuration and Route) keep the annotations their owner gave
    them, rather than naming the controller."""
    if not user or (old is not None and old.get("spec") == raw.get("spec")) \
            or (raw.get("metadata") or {}).get("ownerReferences"):
        return raw
    out = copy.deepcopy(raw)
    md = out.setdefault("metadata", {})
    ann = dict(md.get("annotations") or {})
    if old is None:
        ann[CREATOR_ANNOTATION] = user
    ann[LAST_MODIFIER_ANNOTATION] = user
    md["annotations"] = ann
    return out
