"""Broker validation: config reference, delivery spec; class and config are immutable."""

from __future__ import annotations

from typing import Any

from knpy.apis.eventing.v1.broker_types import Broker
from knpy.runtime.config import FieldError

__all__ = ["validate_broker", "validate_broker_update"]


def validate_broker(raw: dict[str, Any]) -> FieldError:
    b = Broker(raw)
    errs = FieldError.none()
    spec = raw.get("spec")
    if spec is not None and not isinstance(spec, dict):
        return FieldError.invalid(spec, "spec", "want an object")
    if b.config is not None:
        errs = errs.also(b.config.validate().via_field("spec", "config"))
    elif spec is not None and spec.get("config") is not None:
        errs = errs.also(FieldError.invalid(spec["config"], "spec.config",
                                            "want a KReference"))
    delivery = b.delivery
    if delivery is not None:
        errs = errs.also(delivery.validate(b.namespace).via_field("spec", "delivery"))
    elif spec is not None and spec.get("delivery") is not None:
        errs = errs.also(FieldError.invalid(spec["delivery"], "spec.delivery",
                                            "want a DeliverySpec"))
    return errs


def validate_broker_update(old: dict[str, Any], new: dict[str, Any]) -> FieldError:
    errs = validate_broker(new)
    o, n = Broker(old), Broker(new)
    if o.broker_class != n.broker_class:
        errs = errs.also(FieldError.immutable(
            "metadata.annotations[eventing.knative.dev/broker.class]",
            o.broker_class, n.broker_class))
    oc, nc = (old.get("spec") or {}).get("config"), (new.get("spec") or {}).get("config")
    if oc != nc:
        errs = errs.also(FieldError.immutable("spec.config", oc, nc))
    return errs
