"""Sequence and Parallel validation with field paths (Knative's rules): at least one step
or branch, each a valid Destination (a branch's subscriber required, filter and reply
optional) with a valid delivery; spec.channelTemplate with apiVersion and kind (the webhook
defaults it first); spec.reply valid when set. Refs stay in the object's namespace."""

from __future__ import annotations

from typing import Any

from knpy.apis.duck.delivery import DeliverySpec
from knpy.apis.duck.destination import Destination
from knpy.apis.messaging.v1.channel_validation import validate_channel_template
from knpy.runtime.config import FieldError

__all__ = ["validate_parallel", "validate_sequence"]


def _destination(raw: Any, ns: str, path: str) -> FieldError:
    d = Destination.from_dict(raw)
    if d is None:
        return FieldError.invalid(raw, path, "want a Destination")
    return d.validate(ns).via_field(path)


def _delivery(raw: Any, ns: str, path: str) -> FieldError:
    if raw is None:
        return FieldError.none()
    d = DeliverySpec.from_dict(raw)
    if d is None:
        return FieldError.invalid(raw, path, "want a DeliverySpec")
    return d.validate(ns).via_field(path)


def _spec(raw: dict[str, Any], items: str, what: str) -> tuple[list[Any], FieldError]:
    """The list of steps/branches, and the errors of what both kinds share."""
    spec = raw.get("spec")
    if not isinstance(spec, dict):
        return [], (FieldError.missing("spec") if spec is None else
                    FieldError.invalid(spec, "spec", "want an object"))
    ns = (raw.get("metadata") or {}).get("namespace", "")
    errs = FieldError.none()
    lst = spec.get(items)
    if lst is not None and not isinstance(lst, list):
        errs = errs.also(FieldError.invalid(lst, f"spec.{items}", "want a list"))
        lst = []
    if not lst:
        errs = errs.also(FieldError(f"must have at least one {what}", f"spec.{items}"))
    errs = errs.also(validate_channel_template(spec.get("channelTemplate"))
                     .via_field("spec", "channelTemplate"))
    if spec.get("reply") is not None:
        errs = errs.also(_destination(spec["reply"], ns, "spec.reply"))
    return lst or [], errs


def validate_sequence(raw: dict[str, Any]) -> FieldError:
    steps, errs = _spec(raw, "steps", "step")
    ns = (raw.get("metadata") or {}).get("namespace", "")
    for i, step in enumerate(steps):
        path = f"spec.steps[{i}]"
        if not isinstance(step, dict):
            errs = errs.also(FieldError.invalid(step, path, "want a Destination"))
            continue
        dest = {k: v for k, v in step.items() if k != "delivery"}
        errs = errs.also(_destination(dest, ns, path),
                         _delivery(step.get("delivery"), ns, f"{path}.delivery"))
    return errs


def validate_parallel(raw: dict[str, Any]) -> FieldError:
    branches, errs = _spec(raw, "branches", "branch")
    ns = (raw.get("metadata") or {}).get("namespace", "")
    for i, b in enumerate(branches):
        path = f"spec.branches[{i}]"
        if not isinstance(b, dict):
            errs = errs.also(FieldError.invalid(b, path, "want an object"))
            continue
        if b.get("subscriber") is None:
            errs = errs.also(FieldError.missing(f"{path}.subscriber"))
        for k in ("filter", "subscriber", "reply"):
            if b.get(k) is not None:
                errs = errs.also(_destination(b[k], ns, f"{path}.{k}"))
        errs = errs.also(_delivery(b.get("delivery"), ns, f"{path}.delivery"))
    return errs
