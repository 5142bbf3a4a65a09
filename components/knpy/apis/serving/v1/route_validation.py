"""Traffic validation (Knative's route_validation.go): each target names exactly one of
revisionName / configurationName (a Service's targets name its own Configuration
implicitly), percents in [0, 100] summing to exactly 100, tags unique DNS-1035 labels,
no `url` in the spec."""

from __future__ import annotations

import re
from typing import Any

from knpy.apis.eventing.v1.meta import ObjectView
from knpy.apis.serving.v1.metadata_validation import validate_creator_update
from knpy.runtime.config import FieldError

__all__ = ["validate_route", "validate_route_update", "validate_traffic"]

_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def _validate_target(t: Any, default_configuration: bool) -> FieldError:
    if not isinstance(t, dict):
        return FieldError.invalid(t, "", "want a traffic target")
    errs = FieldError.none()
    rev, conf, latest = t.get("revisionName"), t.get("configurationName"), t.get("latestRevision")
    if conf and default_configuration:
        errs = errs.also(FieldError("must not set the field(s)", "configurationName",
                                    details="a Service's traffic targets its own "
                                            "Configuration"))
    if rev and conf:
        errs = errs.also(FieldError.one_of("revisionName", "configurationName"))
    elif rev:
        if latest is True:
            errs = errs.also(FieldError(
                f"may not set revisionName {rev!r} when latestRevision is true",
                "latestRevision"))
    elif conf:
        if latest is False:
            errs = errs.also(FieldError(
                f"may not set configurationName {conf!r} when latestRevision is false",
                "latestRevision"))
    elif not (default_configuration and latest is not False):
        errs = errs.also(FieldError.missing_one_of("revisionName", "configurationName"))
    pct = t.get("percent")
    if pct is not None and (not isinstance(pct, int) or isinstance(pct, bool)
                            or not 0 <= pct <= 100):
        errs = errs.also(FieldError.out_of_bounds(pct, 0, 100, "percent"))
    tag = t.get("tag")
    if tag is not None and (not isinstance(tag, str) or len(tag) > 63
                            or not _DNS1035_LABEL.match(tag)):
        errs = errs.also(FieldError.invalid(
            tag, "tag", "a tag must be a DNS-1035 label: at most 63 lowercase letters, "
                        "digits or '-', starting with a letter and not ending with '-'"))
    if t.get("url") is not None:
        errs = errs.also(FieldError.disallowed("url"))
    return errs


def validate_traffic(traffic: Any, *, default_configuration: bool) -> FieldError:
    """Errors relative to the traffic list (`[1].tag`, or the list itself for the sum)."""
    if traffic is None or traffic == []:
        return FieldError.none()
    if not isinstance(traffic, list):
        return FieldError.invalid(traffic, "", "want a list of traffic targets")
    errs = FieldError.none()
    tags: dict[str, int] = {}
    total = 0
    for i, t in enumerate(traffic):
        errs = errs.also(_validate_target(t, default_configuration).via_index(i))
        if not isinstance(t, dict):
            continue
        pct = t.get("percent")
        if isinstance(pct, int) and not isinstance(pct, bool):
            total += pct
        tag = t.get("tag")
        if tag:
            if tag in tags:
                errs = errs.also(FieldError(f"Multiple definitions for {tag!r}",
                                            f"[{i}].tag", f"[{tags[tag]}].tag"))
            else:
                tags[tag] = i
    if total != 100:
        errs = errs.also(FieldError(f"Traffic targets sum to {total}, want 100", ""))
    return errs


def validate_route(raw: dict[str, Any]) -> FieldError:
    r = ObjectView(raw)
    errs = validate_traffic(r.spec_raw.get("traffic"), default_configuration=False)
    return errs.via_field("spec", "traffic")


def validate_route_update(old: dict[str, Any], new: dict[str, Any]) -> FieldError:
    return validate_route(new).also(validate_creator_update(old, new))
