"""Per-revision scaling settings: config-autoscaler defaults overridden by the revision's
`autoscaling.knative.dev/*` annotations and its containerConcurrency.

`resolve_settings` is Knative's MakeDecider + ResolveMetricTarget + ScaleBounds in one pure
function. Bad annotations raise FieldError at `annotations[autoscaling.knative.dev/...]`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from knpy.autoscaler.config import (
    PANIC_THRESHOLD_MAX_PCT,
    PANIC_THRESHOLD_MIN_PCT,
    TARGET_MIN,
    WINDOW_MAX_S,
    WINDOW_MIN_S,
    AutoscalerConfig,
)
from knpy.runtime.config import FieldError, parse_go_duration

__all__ = ["PREFIX", "RevisionSettings", "resolve_settings"]

PREFIX = "autoscaling.knative.dev/"
CONCURRENCY = "concurrency"
RPS = "rps"
LINEAR = "linear"
WEIGHTED = "weightedexponential"

# Annotation keys with their older camelCase aliases (Knative still accepts both).
_ALIASES = {
    "min-scale": ("min-scale", "minScale"),
    "max-scale": ("max-scale", "maxScale"),
    "initial-scale": ("initial-scale", "initialScale"),
}


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


class _Annotations:
    """Typed reads of autoscaling annotations, collecting errors per key."""

    def __init__(self, annotations: Mapping[str, str]) -> None:
        self.data = dict(annotations)
        self.errors = FieldError.none()

    def raw(self, name: str) -> tuple[str, str] | None:
        for alias in _ALIASES.get(name, (name,)):
            key = PREFIX + alias
            if key in self.data:
                return key, str(self.data[key]).strip()
        return None

    def fail(self, key: str, value: object, why: str) -> None:
        self.errors = self.errors.also(
            FieldError.invalid(value, "", details=why).via_key(key).via_field("annotations"))

    def number(self, name: str, lo: float | None = None, hi: float | None = None,
               extra_ok: float | None = None) -> float | None:
        got = self.raw(name)
        if got is None:
            return None
        key, text = got
        try:
            v = float(text)
            if math.isnan(v) or math.isinf(v):
                raise ValueError
        except ValueError:
            self.fail(key, text, "want a number")
            return None
        if extra_ok is not None and v == extra_ok:
            return v
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            self.fail(key, text, f"must be in [{_fmt(lo)}, {_fmt(hi)}]")
            return None
        return v

    def integer(self, name: str, lo: int = 0) -> int | None:
        got = self.raw(name)
        if got is None:
            return None
        key, text = got
        try:
            v = int(text)
        except ValueError:
            self.fail(key, text, "want an integer")
            return None
        if v < lo:
            self.fail(key, text, f"must be at least {lo}")
            return None
        return v

    def duration(self, name: str, lo: float, hi: float, whole: bool = False) -> float | None:
        got = self.raw(name)
        if got is None:
            return None
        key, text = got
        try:
            v = parse_go_duration(text)
        except ValueError as exc:
            self.fail(key, text, str(exc))
            return None
        if not lo <= v <= hi:
            self.fail(key, text, f"must be between {_fmt(lo)}s and {_fmt(hi)}s")
            return None
        if whole and abs(v - round(v)) > 1e-9:
            self.fail(key, text, "must be a whole number of seconds")
            return None
        return v

    def choice(self, name: str, choices: tuple[str, ...]) -> str | None:
        got = self.raw(name)
        if got is None:
            return None
        key, text = got
        if text.lower() not in choices:
            self.fail(key, text, "must be one of " + ", ".join(choices))
            return None
        return text.lower()


def _fmt(v: float | None) -> str:
    return "inf" if v is None else f"{v:g}"


def resolve_settings(cfg: AutoscalerConfig, annotations: Mapping[str, str] | None = None,
                     container_concurrency: int = 0, reachable: bool = True) -> RevisionSettings:
    """Merge defaults, annotations and containerConcurrency into RevisionSettings."""
    a = _Annotations(annotations or {})
    if container_concurrency < 0 or container_concurrency > 1000:
        raise FieldError.invalid(container_concurrency, "containerConcurrency",
                                 details="must be in [0, 1000]")
    metric = a.choice("metric", (CONCURRENCY, RPS)) or CONCURRENCY
    aggregation = a.choice("metric-aggregation-algorithm", (LINEAR, WEIGHTED)) or LINEAR
    target_ann = a.number("target", lo=TARGET_MIN)
    util_pct = a.number("target-utilization-percentage", lo=1, hi=100)
    tbc = a.number("target-burst-capacity", lo=0, extra_ok=-1)
    stable = a.duration("window", WINDOW_MIN_S, WINDOW_MAX_S, whole=True)
    panic_pct = a.number("panic-window-percentage", lo=1, hi=100)
    panic_thr = a.number("panic-threshold-percentage", lo=PANIC_THRESHOLD_MIN_PCT,
                         hi=PANIC_THRESHOLD_MAX_PCT)
    min_scale = a.integer("min-scale")
    max_scale = a.integer("max-scale")
    initial = a.integer("initial-scale")
    activation = a.integer("activation-scale", lo=1)
    delay = a.duration("scale-down-delay", 0, WINDOW_MAX_S, whole=True)
    retention = a.duration("scale-to-zero-pod-retention-period", 0, WINDOW_MAX_S)

    lo = cfg.min_scale if min_scale is None else min_scale
    hi = cfg.max_scale if max_scale is None else max_scale
    if cfg.max_scale_limit and max_scale is not None and (
            max_scale == 0 or max_scale > cfg.max_scale_limit):
        a.fail(PREFIX + "max-scale", max_scale,
               f"must be in [1, {cfg.max_scale_limit}] (max-scale-limit)")
    if hi and lo > hi:
        a.fail(PREFIX + "min-scale", lo, f"must not exceed max-scale ({hi})")
    if initial is not None and initial == 0 and not cfg.allow_zero_initial_scale:
        a.fail(PREFIX + "initial-scale", 0, "0 requires allow-zero-initial-scale in "
               "config-autoscaler")
    if activation is not None and activation > 1 and hi and activation > hi:
        a.fail(PREFIX + "activation-scale", activation, f"must not exceed max-scale ({hi})")
    if a.errors:
        raise a.errors

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
