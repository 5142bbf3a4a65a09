"""Admission handlers for sources.knative.dev/v1 (PingSource, SinkBinding, ApiServerSource,
ContainerSource): Knative's defaults and field-pathed validation from knpy.apis.sources."""

from __future__ import annotations

from knpy.apis.sources import v1
from knpy.webhook.admission import Handler, Handlers

__all__ = ["sources_handlers"]


def sources_handlers() -> Handlers:
    g = v1.GROUP
    return {
        (g, "PingSource"): Handler(v1.set_pingsource_defaults, v1.validate_pingsource),
        (g, "SinkBinding"): Handler(v1.set_sinkbinding_defaults, v1.validate_sinkbinding),
        (g, "ApiServerSource"): Handler(v1.set_apiserversource_defaults,
                                        v1.validate_apiserversource),
        (g, "ContainerSource"): Handler(v1.set_containersource_defaults,
                                        v1.validate_containersource),
    }
