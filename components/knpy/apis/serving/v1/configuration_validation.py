"""Configuration validation: a DNS-1035 name, the template, and on update Knative's BYO
revision name rule (a named template cannot change without a new name)."""

from __future__ import annotations

import re
from typing import Any

from knpy.apis.serving.configmaps import ServingConfig
from knpy.apis.serving.v1.metadata_validation import validate_creator_update
from knpy.apis.serving.v1.revision_validation import validate_revision_template
from knpy.runtime.config import FieldError

__all__ = ["validate_configuration", "validate_configuration_update", "validate_name",
           "validate_template_update"]

_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
# the longest revision suffix ("-00001"), so `<name>-00001` still fits in a label
_MAX_NAME = 63 - len("-00001")


def validate_name(raw: dict[str, Any]) -> FieldError:
    md = raw.get("metadata") or {}
    name = md.get("name") or ""
    if not name:
        return FieldError.none() if md.get("generateName") else FieldError.missing(
            "metadata.name")
    if len(name) > _MAX_NAME or not _DNS1035_LABEL.match(name):
        return FieldError.invalid(name, "metadata.name",
                                  f"must be a DNS-1035 label of at most {_MAX_NAME} "
                                  "characters (lowercase letters, digits, '-')")
    return FieldError.none()


def validate_template_update(old: dict[str, Any], new: dict[str, Any]) -> FieldError:
    """With a BYO revision name, changing the template needs a new name."""
    ot = (old.get("spec") or {}).get("template") or {}
    nt = (new.get("spec") or {}).get("template") or {}
    name = (nt.get("metadata") or {}).get("name")
    if name and name == (ot.get("metadata") or {}).get("name") and ot != nt:
        return FieldError(f"saw a template change without a new revision name ({name!r} "
                          "already exists)", "spec.template.metadata.name")
    return FieldError.none()


def validate_configuration(raw: dict[str, Any], cfg: ServingConfig | None = None
                           ) -> FieldError:
    errs = validate_name(raw)
    spec = raw.get("spec")
    if not isinstance(spec, dict) or not isinstance(spec.get("template"), dict):
        return errs.also(FieldError.missing("spec.template"))
    name = (raw.get("metadata") or {}).get("name") or ""
    return errs.also(validate_revision_template(spec["template"], cfg, name)
                     .via_field("spec", "template"))


def validate_configuration_update(old: dict[str, Any], new: dict[str, Any],
                                  cfg: ServingConfig | None = None) -> FieldError:
    return validate_configuration(new, cfg).also(validate_template_update(old, new),
                                                 validate_creator_update(old, new))
