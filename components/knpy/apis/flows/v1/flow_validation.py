"""Sequence and Parallel validation with field paths (Knative's rules): at least one step
or branch, each a valid Destination (a branch's subscriber required, filter and reply
optional) with a valid delivery; spec.channelTemplate with apiVersion and kind (the webhook
defaults it first); spec.reply valid when set. Refs stay in the object's namespace."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from knpy.apis.duck.delivery import DeliverySpec
from knpy.apis.duck.destination import Destination
from knpy.apis.duck.spec import required_spec
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


ItemCheck = Callable[[dict[str, Any], str, str], FieldError]


def _validate(raw: dict[str, Any], items: str, what: str, check: ItemCheck) -> FieldError:
    """What both kinds share, and `check(item, namespace, path)` for each step/branch."""
    spec, bad = required_spec(raw)
    if bad:
        return bad
    ns = (raw.get("metadata") or {}).get("namespace", "")
    errs = FieldError.none()
    lst = spec.get(items)
    if lst is not None and not isinstance(lst, list):
        errs = errs.also(FieldError.invalid(lst, f"spec.{items}", "want a list"))
        lst = []
    if not lst:
        errs = errs.also(FieldError(f"must have at least one {what}", f"spec.{items}"))
    for i, item in enumerate(lst or []):
        path = f"spec.{items}[{i}]"
        errs = errs.also(check(item, ns, path) if isinstance(item, dict) else
                         FieldError.invalid(item, path, "want an object"))
    errs = errs.also(validate_channel_template(spec.get("channelTemplate"))
                     .via_field("spec", "channelTemplate"))
    if spec.get("reply") is not None:
        errs = errs.also(_destination(spec["reply"], ns, "spec.reply"))
    return errs


def _step(step: dict[str, Any], ns: str, path: str) -> FieldError:
    dest = {k: v for k, v in step.items() if k != "delivery"}
    return _destination(dest, ns, path).also(
        _delivery(step.get("delivery"), ns, f"{path}.delivery"))


def _branch(b: dict[str, Any], ns: str, path: str) -> FieldError:
    errs = FieldError.none()
    if b.get("subscriber") is None:
        errs = errs.also(FieldError.missing(f"{path}.subscriber"))
    for k in ("filter", "subscriber", "reply"):
        if b.get(k) is not None:
            errs = errs.also(_destination(b[k], ns, f"{path}.{k}"))
    return errs.also(_delivery(b.get("delivery"), ns, f"{path}.delivery"))


def validate_sequence(raw: dict[str, Any]) -> FieldError:
    return _validate(raw, "steps", "step", _step)


def validate_parallel(raw: dict[str, Any]) -> FieldError:
    return _validate(raw, "branches", "branch", _branch)
