"""Per-revision scaling settings: config-autoscaler defaults overridden by the revision's
`autoscaling.knative.dev/*` annotations and its containerConcurrency.

`resolve_settings` is Knative's MakeDecider + ResolveMetricTarget + ScaleBounds in one pure
function. The annotations are parsed by `knpy.apis.autoscaling.annotations` (the webhook
uses the same parser); bad ones raise FieldError at `annotations[autoscaling.knative.dev/...]`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from knpy.apis.autoscaling.annotations import (
    CONCURRENCY,
    LINEAR,
    PREFIX,
    RPS,
    WEIGHTED,
    parse_annotations,
)
from knpy.apis.autoscaling.config import TARGET_MIN, AutoscalerConfig
from knpy.runtime.config import FieldError

__all__ = ["CONCURRENCY", "LINEAR", "PREFIX", "RPS", "WEIGHTED", "RevisionSettings",
           "resolve_settings"]


@dataclass(frozen=True, slots=True)
class RevisionSettings:
    """Everything the decider and the lifecycle need for one revision."""

    metric: str
    target: float               # per-pod target the decider divides by
    total: float                # per-pod capacity (EBC uses it)
    target_burst_capacity: float
    panic_threshold: float      # ratio, e.g. 2.0 for 200 %
    stable_window: float        # seconds
    panic_window: float         # seconds
    max_scale_up_rate: float
    max_scale_down_rate: float
    activation_scale: int
    scale_down_delay: float
    min_scale: int
    max_scale: int              # 0 = unbounded
    initial_scale: int
    enable_scale_to_zero: bool
    scale_to_zero_grace_period: float
    scale_to_zero_pod_retention_period: float
    aggregation: str = LINEAR   # linear | weightedexponential
    container_concurrency: int = 0
    reachable: bool = True


def resolve_settings(cfg: AutoscalerConfig, annotations: Mapping[str, str] | None = None,
                     container_concurrency: int = 0, reachable: bool = True) -> RevisionSettings:
    """Merge defaults, annotations and containerConcurrency into RevisionSettings."""
    if container_concurrency < 0 or container_concurrency > 1000:
        raise FieldError.invalid(container_concurrency, "containerConcurrency",
                                 details="must be in [0, 1000]")
    a = parse_annotations(cfg, annotations)
    metric = a.metric or CONCURRENCY
    aggregation = a.aggregation or LINEAR
    target_ann, util_pct = a.target, a.target_utilization_percentage
    tbc, stable = a.target_burst_capacity, a.window
    panic_pct, panic_thr = a.panic_window_percentage, a.panic_threshold_percentage
    lo = cfg.min_scale if a.min_scale is None else a.min_scale
    hi = cfg.max_scale if a.max_scale is None else a.max_scale
    initial, activation = a.initial_scale, a.activation_scale
    delay, retention = a.scale_down_delay, a.scale_to_zero_pod_retention_period

    # ResolveMetricTarget: per-pod total capacity and the target the decider divides by.
    if metric == RPS:
        total = cfg.rps_target_default
    else:
        total = float(container_concurrency or cfg.container_concurrency_target_default)
    if target_ann is not None:
        total = target_ann
        if metric == CONCURRENCY and container_concurrency:
            total = min(target_ann, float(container_concurrency))
    util = cfg.container_concurrency_target_fraction if util_pct is None else util_pct / 100
    target = max(TARGET_MIN, total * util)

    stable_window = cfg.stable_window if stable is None else stable
    pct = cfg.panic_window_percentage if panic_pct is None else panic_pct
    panic_window = max(1.0, float(round(stable_window * pct / 100.0)))
    return RevisionSettings(
        metric=metric,
        target=target,
        total=total,
        target_burst_capacity=cfg.target_burst_capacity if tbc is None else tbc,
        panic_threshold=(cfg.panic_threshold_percentage if panic_thr is None
                         else panic_thr) / 100.0,
        stable_window=stable_window,
        panic_window=panic_window,
        max_scale_up_rate=cfg.max_scale_up_rate,
        max_scale_down_rate=cfg.max_scale_down_rate,
        activation_scale=activation or 1,
        scale_down_delay=cfg.scale_down_delay if delay is None else delay,
        min_scale=lo,
        max_scale=hi,
        initial_scale=cfg.initial_scale if initial is None else initial,
        enable_scale_to_zero=cfg.enable_scale_to_zero,
        scale_to_zero_grace_period=cfg.scale_to_zero_grace_period,
        scale_to_zero_pod_retention_period=(cfg.scale_to_zero_pod_retention_period
                                            if retention is None else retention),
        aggregation=aggregation,
        container_concurrency=container_concurrency,
        reachable=reachable,
    )
