"""Service defaults: the template's revision spec (config-defaults) and the traffic
(everything to the latest revision when none is given)."""

from __future__ import annotations

import copy
from typing import Any

from knpy.apis.serving.config_defaults import Defaults
from knpy.apis.serving.v1.configuration_defaults import set_template_defaults
from knpy.apis.serving.v1.route_defaults import set_traffic_defaults

__all__ = ["set_service_defaults"]


def set_service_defaults(raw: dict[str, Any], d: Defaults | None = None) -> dict[str, Any]:
    out = copy.deepcopy(raw)
    spec = out.get("spec")
    if not isinstance(spec, dict):
        spec = out["spec"] = {}
    set_template_defaults(spec, d or Defaults())
    set_traffic_defaults(spec, default_configuration=True)
    return out
