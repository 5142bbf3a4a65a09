"""Admission handlers for messaging.knative.dev/v1 (Channel, InMemoryChannel, Subscription)
and the `default-ch-webhook` ConfigMap: Knative's defaults, field-pathed validation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from knpy.apis.messaging import v1
from knpy.runtime.config import FieldError
from knpy.webhook.admission import Handler, Handlers, configmap_validator

__all__ = ["messaging_handlers"]

Obj = dict[str, Any]


def messaging_handlers(defaults: Callable[[], v1.ChannelDefaults] = v1.ChannelDefaults
                       ) -> Handlers:
    """`defaults` is read per request, so a live default-ch-webhook change applies at once."""
    def default_channel(o: Obj) -> Obj:
        return v1.set_channel_defaults(o, defaults())

    def validate_channel_any(o: Obj, old: Obj | None) -> FieldError:
        return v1.validate_channel(o) if old is None else v1.validate_channel_update(old, o)

    def validate_imc_any(o: Obj, _old: Obj | None) -> FieldError:
        return v1.validate_in_memory_channel(o)

    def validate_subscription_any(o: Obj, old: Obj | None) -> FieldError:
        return (v1.validate_subscription(o) if old is None
                else v1.validate_subscription_update(old, o))

    g = v1.GROUP
    return {
        (g, "Channel"): Handler(default_channel, validate_channel_any),
        (g, "InMemoryChannel"): Handler(v1.set_in_memory_channel_defaults, validate_imc_any),
        (g, "Subscription"): Handler(v1.set_subscription_defaults, validate_subscription_any),
        ("", "ConfigMap"): Handler(None, configmap_validator({
            v1.CHANNEL_DEFAULTS_CONFIG: v1.parse_channel_defaults})),
    }
