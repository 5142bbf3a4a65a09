"""Admission handlers for flows.knative.dev/v1 (Sequence, Parallel): Knative's defaults
(channelTemplate from `default-ch-webhook`, ref namespaces) and field-pathed validation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from knpy.apis.flows import v1
from knpy.apis.messaging.v1 import ChannelDefaults
from knpy.runtime.config import FieldError
from knpy.webhook.admission import Handler, Handlers

__all__ = ["flows_handlers"]

Obj = dict[str, Any]


def flows_handlers(defaults: Callable[[], ChannelDefaults] = ChannelDefaults) -> Handlers:
    """`defaults` is read per request, so a live default-ch-webhook change applies at once."""
    def validate_sequence(o: Obj, _old: Obj | None) -> FieldError:
        return v1.validate_sequence(o)

    def validate_parallel(o: Obj, _old: Obj | None) -> FieldError:
        return v1.validate_parallel(o)

    return {
        (v1.GROUP, v1.SEQUENCE_KIND): Handler(
            lambda o: v1.set_sequence_defaults(o, defaults()), validate_sequence),
        (v1.GROUP, v1.PARALLEL_KIND): Handler(
            lambda o: v1.set_parallel_defaults(o, defaults()), validate_parallel),
    }
