"""config-gc: when old revisions are collected (Knative's pkg/gc keys and defaults).

    retain-since-create-time: 48h        # "disabled": age never makes a revision stale
    retain-since-last-active-time: 15h   # "disabled" likewise
    min-non-active-revisions: "20"
    max-non-active-revisions: "1000"     # "disabled": no upper bound
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from knpy.runtime.config import ConfigMapReader, FieldError, parse_go_duration

__all__ = ["DISABLED", "GC_CONFIG", "GCConfig", "parse_gc_config"]

GC_CONFIG = "config-gc"
DISABLED = -1  # Knative's Disabled sentinel, for durations (seconds) and counts alike


@dataclass(frozen=True, slots=True)
class GCConfig:
    retain_since_create_time: float = 48 * 3600.0
    retain_since_last_active_time: float = 15 * 3600.0
    min_non_active_revisions: int = 20
    max_non_active_revisions: int = 1000


def _bad(key: str, value: object, why: str) -> FieldError:
    return FieldError.invalid(value, "", details=why).via_key(key).via_field(GC_CONFIG)


def parse_gc_config(data: Mapping[str, str] | None) -> GCConfig:
    d = GCConfig()
    r = ConfigMapReader(GC_CONFIG, data)
    errs = FieldError.none()

    def duration(key: str, default: float) -> float:
        nonlocal errs
        text = r.string(key, "").strip()
        if not text:
            return default
        if text.lower() == "disabled":
            return DISABLED
        try:
            v = parse_go_duration(text)
        except ValueError as exc:
            errs = errs.also(_bad(key, text, str(exc)))
            return default
        if v < 0:
            errs = errs.also(_bad(key, text, 'must not be negative (or "disabled")'))
        return v

    def count(key: str, default: int) -> int:
        nonlocal errs
        text = r.string(key, "").strip()
        if not text:
            return default
        if text.lower() == "disabled":
            return DISABLED
        try:
            v = int(text)
        except ValueError:
            errs = errs.also(_bad(key, text, 'want an integer or "disabled"'))
            return default
        if v < 0:
            errs = errs.also(_bad(key, text, 'must not be negative (or "disabled")'))
        return v

    cfg = GCConfig(
        retain_since_create_time=duration("retain-since-create-time",
                                          d.retain_since_create_time),
        retain_since_last_active_time=duration("retain-since-last-active-time",
                                               d.retain_since_last_active_time),
        min_non_active_revisions=r.integer("min-non-active-revisions",
                                           d.min_non_active_revisions, minimum=0),
        max_non_active_revisions=count("max-non-active-revisions",
                                       d.max_non_active_revisions),
    )
    mx = cfg.max_non_active_revisions
    if mx != DISABLED and cfg.min_non_active_revisions > mx:
        errs = errs.also(_bad("min-non-active-revisions", cfg.min_non_active_revisions,
                              f"must not exceed max-non-active-revisions ({mx})"))
    errs = r.errors.also(errs)
    if errs:
        raise errs
    return cfg
