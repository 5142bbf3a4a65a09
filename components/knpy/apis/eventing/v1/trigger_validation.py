"""Trigger validation with field paths: broker, filters, subscriber, delivery, dependency
annotation; spec.broker is immutable.

Filter specs are checked by the filter engine itself (`knpy.runtime.eventfilter.validate`,
passed in by the caller), so admission and the dispatcher can never disagree on what a
valid filter is, and `knpy.apis` keeps importing only `knpy.runtime.config`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from knpy.apis.eventing.v1.register import DEPENDENCY_ANNOTATION
from knpy.apis.eventing.v1.trigger_types import Trigger
from knpy.runtime.config import FieldError

__all__ = ["FilterValidator", "validate_filters", "validate_trigger", "validate_trigger_update"]


class _PathedError(Protocol):
    field: str  # relative to the trigger spec: "filters[1].cesql"
    message: str


FilterValidator = Callable[[Any, Any], Sequence[_PathedError]]


def validate_filters(attributes: Any, filters: Any, validator: FilterValidator) -> FieldError:
    """The filter engine's errors (paths relative to the spec) as FieldErrors."""
    errs = FieldError.none()
    if attributes is not None and not isinstance(attributes, dict):
        return FieldError.invalid(attributes, "filter.attributes", "want a map")
    if filters is not None and not isinstance(filters, list):
        return FieldError.invalid(filters, "filters", "want a list")
    for fe in validator(attributes, filters):
        errs = errs.also(FieldError(fe.message, fe.field))
    return errs


def validate_trigger(raw: dict[str, Any], *, filters: FilterValidator) -> FieldError:
    t = Trigger(raw)
    spec = raw.get("spec")
    if not isinstance(spec, dict):
        return FieldError.missing("spec")
    errs = FieldError.none()
    if not t.broker:
        errs = errs.also(FieldError.missing("broker"))
    f = spec.get("filter")
    if f is not None and not isinstance(f, dict):
        errs = errs.also(FieldError.invalid(f, "filter", "want an object"))
        f = None
    errs = errs.also(validate_filters((f or {}).get("attributes"), spec.get("filters"),
                                      filters))
    sub = t.subscriber
    if sub is None:
        errs = errs.also(FieldError.missing("subscriber"))
    else:
        errs = errs.also(sub.validate(t.namespace).via_field("subscriber"))
    if spec.get("delivery") is not None:
        d = t.delivery
        if d is None:
            errs = errs.also(FieldError.invalid(spec["delivery"], "delivery",
                                                "want a DeliverySpec"))
        else:
            errs = errs.also(d.validate(t.namespace).via_field("delivery"))
    errs = errs.via_field("spec")
    dep = t.annotations.get(DEPENDENCY_ANNOTATION)
    if dep is not None:
        errs = errs.also(_validate_dependency(dep).via_field_key(
            "metadata.annotations", DEPENDENCY_ANNOTATION))
    return errs


def _validate_dependency(text: str) -> FieldError:
    try:
        d = json.loads(text)
    except ValueError as exc:
        return FieldError.invalid(text, "", f"not JSON: {exc}")
    if not isinstance(d, dict):
        return FieldError.invalid(text, "", "want a JSON object with kind, name, apiVersion")
    errs = FieldError.none()
    for k in ("kind", "name", "apiVersion"):
        if not d.get(k):
            errs = errs.also(FieldError.missing(k))
    return errs


def validate_trigger_update(old: dict[str, Any], new: dict[str, Any], *,
                            filters: FilterValidator) -> FieldError:
    errs = validate_trigger(new, filters=filters)
    ob, nb = Trigger(old).broker, Trigger(new).broker
    if ob != nb:
        errs = errs.also(FieldError.immutable("spec.broker", ob, nb))
    return errs
