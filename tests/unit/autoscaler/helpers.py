"""Shared builders for autoscaler unit tests."""

from __future__ import annotations

from dataclasses import replace

from knpy.autoscaler.settings import RevisionSettings

TARGET_UTILIZATION = 0.75  # Knative's decider tests presume 75 % utilisation
STABLE_WINDOW = 60.0


def settings(target: float = 10.0, tbc: float = 100.0, **overrides: object) -> RevisionSettings:
    """The DeciderSpec Knative's autoscaler_test.go builds: total = target / 0.75,
    panic threshold 200 %, scale rates 10, stable window 60 s, reachable."""
    base = RevisionSettings(
        metric="concurrency",
        target=target,
        total=target / TARGET_UTILIZATION,
        target_burst_capacity=tbc,
        panic_threshold=2.0,
        stable_window=STABLE_WINDOW,
        panic_window=6.0,
        max_scale_up_rate=10.0,
        max_scale_down_rate=10.0,
        activation_scale=1,
        scale_down_delay=0.0,
        min_scale=0,
        max_scale=0,
        initial_scale=1,
        enable_scale_to_zero=True,
        scale_to_zero_grace_period=30.0,
        scale_to_zero_pod_retention_period=0.0,
    )
    return replace(base, **overrides)  # type: ignore[arg-type]
