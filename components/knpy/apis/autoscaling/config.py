"""config-autoscaler: Knative's defaults, parsed from ConfigMap data with per-key errors.

Validation follows Knative's `pkg/autoscaler/config` rules, so a ConfigMap Knative accepts
is accepted here and one it rejects is rejected with a message naming the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from knpy.runtime.config import ConfigMapReader, FieldError

__all__ = ["CONFIGMAP_NAME", "AutoscalerConfig", "parse_autoscaler_config"]

CONFIGMAP_NAME = "config-autoscaler"

# Bounds Knative enforces (pkg/apis/autoscaling).
WINDOW_MIN_S = 6.0
WINDOW_MAX_S = 3600.0
TARGET_MIN = 0.01
PANIC_THRESHOLD_MIN_PCT = 110.0
PANIC_THRESHOLD_MAX_PCT = 1000.0


@dataclass(frozen=True, slots=True)
class AutoscalerConfig:
    """Cluster-wide autoscaling defaults. Durations are seconds."""

    enable_scale_to_zero: bool = True
    container_concurrency_target_fraction: float = 0.70  # ...-target-percentage / 100
    container_concurrency_target_default: float = 100.0
    rps_target_default: float = 200.0
    target_burst_capacity: float = 211.0
    stable_window: float = 60.0
    panic_window_percentage: float = 10.0
    panic_threshold_percentage: float = 200.0
    max_scale_up_rate: float = 1000.0
    max_scale_down_rate: float = 2.0
    activator_capacity: float = 100.0
    scale_to_zero_grace_period: float = 30.0
    scale_to_zero_pod_retention_period: float = 0.0
    scale_down_delay: float = 0.0
    initial_scale: int = 1
    allow_zero_initial_scale: bool = False
    min_scale: int = 0
    max_scale: int = 0
    max_scale_limit: int = 0
    pod_autoscaler_class: str = "kpa.autoscaling.knative.dev"


def _whole_seconds(value: float) -> bool:
    return abs(value - round(value)) < 1e-9


def parse_autoscaler_config(data: Mapping[str, str] | None) -> AutoscalerConfig:
    """Parse config-autoscaler `data`; raises FieldError naming every bad key."""
    d = AutoscalerConfig()
    r = ConfigMapReader(CONFIGMAP_NAME, data)
    pct = r.number("container-concurrency-target-percentage",
                   d.container_concurrency_target_fraction * 100)
    cfg = AutoscalerConfig(
        enable_scale_to_zero=r.boolean("enable-scale-to-zero", d.enable_scale_to_zero),
        container_concurrency_target_fraction=pct / 100.0,
        container_concurrency_target_default=r.number(
            "container-concurrency-target-default", d.container_concurrency_target_default),
        rps_target_default=r.number("requests-per-second-target-default", d.rps_target_default),
        target_burst_capacity=r.number("target-burst-capacity", d.target_burst_capacity),
        stable_window=r.duration("stable-window", d.stable_window),
        panic_window_percentage=r.number("panic-window-percentage", d.panic_window_percentage),
        panic_threshold_percentage=r.number("panic-threshold-percentage",
                                            d.panic_threshold_percentage),
        max_scale_up_rate=r.number("max-scale-up-rate", d.max_scale_up_rate),
        max_scale_down_rate=r.number("max-scale-down-rate", d.max_scale_down_rate),
        activator_capacity=r.number("activator-capacity", d.activator_capacity),
        scale_to_zero_grace_period=r.duration("scale-to-zero-grace-period",
                                              d.scale_to_zero_grace_period),
        scale_to_zero_pod_retention_period=r.duration("scale-to-zero-pod-retention-period",
                                                      d.scale_to_zero_pod_retention_period),
        scale_down_delay=r.duration("scale-down-delay", d.scale_down_delay),
        initial_scale=r.integer("initial-scale", d.initial_scale),
        allow_zero_initial_scale=r.boolean("allow-zero-initial-scale",
                                           d.allow_zero_initial_scale),
        min_scale=r.integer("min-scale", d.min_scale),
        max_scale=r.integer("max-scale", d.max_scale),
        max_scale_limit=r.integer("max-scale-limit", d.max_scale_limit),
        pod_autoscaler_class=r.string("pod-autoscaler-class", d.pod_autoscaler_class),
    )
    errs = r.errors.also(_validate(cfg))
    if errs:
        raise errs
    return cfg


def _bad(key: str, value: object, why: str) -> FieldError:
    return FieldError.invalid(value, "", details=why).via_key(key).via_field(CONFIGMAP_NAME)


def _validate(c: AutoscalerConfig) -> FieldError:
    errs = FieldError.none()

    def check(ok: bool, key: str, value: object, why: str) -> None:
        nonlocal errs
        if not ok:
            errs = errs.also(_bad(key, value, why))

    check(c.scale_to_zero_grace_period >= WINDOW_MIN_S, "scale-to-zero-grace-period",
          c.scale_to_zero_grace_period, f"must be at least {WINDOW_MIN_S:g}s")
    check(c.scale_to_zero_pod_retention_period >= 0, "scale-to-zero-pod-retention-period",
          c.scale_to_zero_pod_retention_period, "must not be negative")
    check(0 <= c.scale_down_delay <= WINDOW_MAX_S, "scale-down-delay", c.scale_down_delay,
          "must be between 0s and 1h")
    check(_whole_seconds(c.scale_down_delay), "scale-down-delay", c.scale_down_delay,
          "must be a whole number of seconds")
    check(c.target_burst_capacity >= 0 or c.target_burst_capacity == -1,
          "target-burst-capacity", c.target_burst_capacity, "must be >= 0 or exactly -1")
    check(c.container_concurrency_target_default >= TARGET_MIN,
          "container-concurrency-target-default", c.container_concurrency_target_default,
          f"must be at least {TARGET_MIN}")
    check(0 < c.container_concurrency_target_fraction <= 1,
          "container-concurrency-target-percentage",
          c.container_concurrency_target_fraction * 100, "must be in (0, 100]")
    check(c.rps_target_default >= TARGET_MIN, "requests-per-second-target-default",
          c.rps_target_default, f"must be at least {TARGET_MIN}")
    check(c.activator_capacity >= 1, "activator-capacity", c.activator_capacity,
          "must be at least 1")
    check(c.max_scale_up_rate > 1, "max-scale-up-rate", c.max_scale_up_rate,
          "must be greater than 1")
    check(c.max_scale_down_rate > 1, "max-scale-down-rate", c.max_scale_down_rate,
          "must be greater than 1")
    check(WINDOW_MIN_S <= c.stable_window <= WINDOW_MAX_S, "stable-window", c.stable_window,
          f"must be between {WINDOW_MIN_S:g}s and 1h")
    check(_whole_seconds(c.stable_window), "stable-window", c.stable_window,
          "must be a whole number of seconds")
    check(1 <= c.panic_window_percentage <= 100, "panic-window-percentage",
          c.panic_window_percentage, "must be in [1, 100]")
    check(PANIC_THRESHOLD_MIN_PCT <= c.panic_threshold_percentage <= PANIC_THRESHOLD_MAX_PCT,
          "panic-threshold-percentage", c.panic_threshold_percentage,
          f"must be in [{PANIC_THRESHOLD_MIN_PCT:g}, {PANIC_THRESHOLD_MAX_PCT:g}]")
    check(c.initial_scale >= 0, "initial-scale", c.initial_scale, "must not be negative")
    check(c.initial_scale != 0 or c.allow_zero_initial_scale, "initial-scale", c.initial_scale,
          "0 requires allow-zero-initial-scale: true")
    check(c.min_scale >= 0, "min-scale", c.min_scale, "must not be negative")
    check(c.max_scale >= 0, "max-scale", c.max_scale, "must not be negative")
    check(c.max_scale_limit >= 0, "max-scale-limit", c.max_scale_limit,
          "must not be negative")
    check(c.max_scale == 0 or c.min_scale <= c.max_scale, "min-scale", c.min_scale,
          f"must not exceed max-scale ({c.max_scale})")
    check(c.max_scale_limit == 0 or (c.max_scale != 0 and c.max_scale <= c.max_scale_limit),
          "max-scale", c.max_scale,
          f"must be in [1, max-scale-limit ({c.max_scale_limit})] when max-scale-limit is set")
    return errs
