"""Serving's config maps by name, each with its parser (the webhook validates them with
these; the reconcilers load them into a ConfigStore with the same table), and the subset
admission needs to default and validate Serving objects."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from knpy.apis.autoscaling.config import CONFIGMAP_NAME as AUTOSCALER_CONFIG
from knpy.apis.autoscaling.config import AutoscalerConfig, parse_autoscaler_config
from knpy.apis.networking.config_network import NETWORK_CONFIG, parse_network_config
from knpy.apis.serving.config_defaults import DEFAULTS_CONFIG, Defaults, parse_defaults
from knpy.apis.serving.config_deployment import DEPLOYMENT_CONFIG, parse_deployment_config
from knpy.apis.serving.config_domain import DOMAIN_CONFIG, parse_domain_config
from knpy.apis.serving.config_features import FEATURES_CONFIG, Features, parse_features
from knpy.apis.serving.config_gc import GC_CONFIG, parse_gc_config
from knpy.apis.serving.config_observability import (
    OBSERVABILITY_CONFIG,
    parse_observability_config,
)

__all__ = ["SERVING_CONFIG_PARSERS", "ServingConfig", "serving_config"]

SERVING_CONFIG_PARSERS: dict[str, Callable[[Mapping[str, str]], Any]] = {
    AUTOSCALER_CONFIG: parse_autoscaler_config,
    DEFAULTS_CONFIG: parse_defaults,
    DEPLOYMENT_CONFIG: parse_deployment_config,
    FEATURES_CONFIG: parse_features,
    GC_CONFIG: parse_gc_config,
    NETWORK_CONFIG: parse_network_config,
    DOMAIN_CONFIG: parse_domain_config,
    OBSERVABILITY_CONFIG: parse_observability_config,
}


@dataclass(frozen=True, slots=True)
class ServingConfig:
    """What defaulting and validation of Serving objects read (Knative puts it in ctx)."""

    defaults: Defaults = field(default_factory=Defaults)
    autoscaler: AutoscalerConfig = field(default_factory=AutoscalerConfig)
    features: Features = field(default_factory=Features)


def serving_config(get: Callable[[str], Any]) -> ServingConfig:
    """Build from a store's `get(name)` (e.g. `ConfigStore.get`), read per request."""
    return ServingConfig(defaults=get(DEFAULTS_CONFIG), autoscaler=get(AUTOSCALER_CONFIG),
                         features=get(FEATURES_CONFIG))
