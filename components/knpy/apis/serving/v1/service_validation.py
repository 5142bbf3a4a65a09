"""Service validation: name, template (as a Configuration's) and traffic (as a Route's,
with the Service's own Configuration implied)."""

from __future__ import annotations

from typing import Any

from knpy.apis.serving.configmaps import ServingConfig
from knpy.apis.serving.v1.configuration_validation import (
    validate_configuration,
    validate_template_update,
)
from knpy.apis.serving.v1.metadata_validation import validate_creator_update
from knpy.apis.serving.v1.route_validation import validate_traffic
from knpy.runtime.config import FieldError

__all__ = ["validate_service", "validate_service_update"]


def validate_service(raw: dict[str, Any], cfg: ServingConfig | None = None) -> FieldError:
    errs = validate_configuration(raw, cfg)
    spec = raw.get("spec") or {}
    return errs.also(validate_traffic(spec.get("traffic"), default_configuration=True)
                     .via_field("spec", "traffic"))


def validate_service_update(old: dict[str, Any], new: dict[str, Any],
                            cfg: ServingConfig | None = None) -> FieldError:
    return validate_service(new, cfg).also(validate_template_update(old, new),
                                           validate_creator_update(old, new))
