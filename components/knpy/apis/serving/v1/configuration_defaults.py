"""Configuration defaults: its template's revision spec (config-defaults)."""

from __future__ import annotations

import copy
from typing import Any

from knpy.apis.serving.config_defaults import Defaults
from knpy.apis.serving.v1.revision_defaults import set_revision_spec_defaults

__all__ = ["set_configuration_defaults", "set_template_defaults"]


def set_template_defaults(spec: dict[str, Any], d: Defaults) -> None:
    """Default `spec.template.spec` of a Configuration or Service spec, in place."""
    template = spec.get("template")
    if not isinstance(template, dict):
        template = spec["template"] = {}
    tspec = template.get("spec")
    if not isinstance(tspec, dict):
        tspec = template["spec"] = {}
    set_revision_spec_defaults(tspec, d)


def set_configuration_defaults(raw: dict[str, Any], d: Defaults | None = None
                               ) -> dict[str, Any]:
    out = copy.deepcopy(raw)
    spec = out.get("spec")
    if not isinstance(spec, dict):
        spec = out["spec"] = {}
    set_template_defaults(spec, d or Defaults())
    return out
