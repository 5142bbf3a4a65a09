"""The `autoscaling.knative.dev/*` annotations of a revision, parsed and validated against
config-autoscaler (Knative's pkg/apis/autoscaling annotation_validation.go).

One parser for the webhook (rejecting a bad annotation at admission) and the autoscaler
(resolving a revision's settings), so they can never disagree. Errors are FieldErrors at
`annotations[autoscaling.knative.dev/<key>]`; callers prefix the object path.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from knpy.apis.autoscaling.config import (
    PANIC_THRESHOLD_MAX_PCT,
    PANIC_THRESHOLD_MIN_PCT,
    TARGET_MIN,
    WINDOW_MAX_S,
    WINDOW_MIN_S,
    AutoscalerConfig,
)
from knpy.runtime.config import FieldError, parse_go_duration

__all__ = ["CLASS", "CONCURRENCY", "HPA_CLASS", "KPA_CLASS", "LINEAR", "PREFIX", "RPS",
           "WEIGHTED", "ScalingAnnotations", "parse_annotations"]

PREFIX = "autoscaling.knative.dev/"
CLASS = PREFIX + "class"
KPA_CLASS = "kpa.autoscaling.knative.dev"
HPA_CLASS = "hpa.autoscaling.knative.dev"
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
class ScalingAnnotations:
    """What the annotations set; None where they are silent (config-autoscaler applies)."""

    autoscaler_class: str | None = None
    metric: str | None = None
    aggregation: str | None = None
    target: float | None = None
    target_utilization_percentage: float | None = None
    target_burst_capacity: float | None = None
    window: float | None = None
    panic_window_percentage: float | None = None
    panic_threshold_percentage: float | None = None
    min_scale: int | None = None
    max_scale: int | None = None
    initial_scale: int | None = None
    activation_scale: int | None = None
    scale_down_delay: float | None = None
    scale_to_zero_pod_retention_period: float | None = None


class _Reader:
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
            self.fail(key, text, _range_rule(lo, hi))
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


def _range_rule(lo: float | None, hi: float | None) -> str:
    if hi is None:
        return f"must be at least {_fmt(lo)}"
    return f"must be at most {_fmt(hi)}" if lo is None else f"must be in [{_fmt(lo)}, {_fmt(hi)}]"


def _fmt(v: float | None) -> str:
    return "inf" if v is None else f"{v:g}"


def parse_annotations(cfg: AutoscalerConfig, annotations: Mapping[str, str] | None
                      ) -> ScalingAnnotations:
    """Parse and check every autoscaling annotation; raises FieldError naming each bad one."""
    a = _Reader(annotations or {})
    cls = a.choice("class", (KPA_CLASS, HPA_CLASS))
    # the KPA scales on concurrency or rps; cpu/memory are the HPA's
    metric_choices = (CONCURRENCY, RPS) if (cls or KPA_CLASS) == KPA_CLASS else (
        "cpu", "memory", CONCURRENCY, RPS)
    parsed = ScalingAnnotations(
        autoscaler_class=cls,
        metric=a.choice("metric", metric_choices),
        aggregation=a.choice("metric-aggregation-algorithm", (LINEAR, WEIGHTED)),
        target=a.number("target", lo=TARGET_MIN),
        target_utilization_percentage=a.number("target-utilization-percentage", lo=1, hi=100),
        target_burst_capacity=a.number("target-burst-capacity", lo=0, extra_ok=-1),
        window=a.duration("window", WINDOW_MIN_S, WINDOW_MAX_S, whole=True),
        panic_window_percentage=a.number("panic-window-percentage", lo=1, hi=100),
        panic_threshold_percentage=a.number("panic-threshold-percentage",
                                            lo=PANIC_THRESHOLD_MIN_PCT,
                                            hi=PANIC_THRESHOLD_MAX_PCT),
        min_scale=a.integer("min-scale"),
        max_scale=a.integer("max-scale"),
        initial_scale=a.integer("initial-scale"),
        activation_scale=a.integer("activation-scale", lo=2),
        scale_down_delay=a.duration("scale-down-delay", 0, WINDOW_MAX_S, whole=True),
        scale_to_zero_pod_retention_period=a.duration("scale-to-zero-pod-retention-period", 0,
                                                      WINDOW_MAX_S),
    )
    lo = cfg.min_scale if parsed.min_scale is None else parsed.min_scale
    hi = cfg.max_scale if parsed.max_scale is None else parsed.max_scale
    if cfg.max_scale_limit and parsed.max_scale is not None and (
            parsed.max_scale == 0 or parsed.max_scale > cfg.max_scale_limit):
        a.fail(PREFIX + "max-scale", parsed.max_scale,
               f"must be in [1, {cfg.max_scale_limit}] (max-scale-limit)")
    if hi and lo > hi:
        a.fail(PREFIX + "min-scale", lo, f"must not exceed max-scale ({hi})")
    if parsed.initial_scale == 0 and not cfg.allow_zero_initial_scale:
        a.fail(PREFIX + "initial-scale", 0, "0 requires allow-zero-initial-scale in "
               "config-autoscaler")
    act = parsed.activation_scale
    if act is not None and hi and act > hi:
        a.fail(PREFIX + "activation-scale", act, f"must not exceed max-scale ({hi})")
    if act is not None and lo and act < lo:
        a.fail(PREFIX + "activation-scale", act, f"must not be below min-scale ({lo})")
    if a.errors:
        raise a.errors
    return parsed
