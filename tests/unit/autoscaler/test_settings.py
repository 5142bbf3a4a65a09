"""Per-revision settings: target from containerConcurrency and annotations (Knative's
ResolveMetricTarget / MakeDecider), windows, bounds, and annotation errors."""

from __future__ import annotations

import pytest

from knpy.apis.autoscaling.config import AutoscalerConfig, parse_autoscaler_config
from knpy.autoscaler.settings import PREFIX, resolve_settings
from knpy.runtime.config import FieldError

CFG = AutoscalerConfig()


def ann(**kv: str) -> dict[str, str]:
    return {PREFIX + k.replace("_", "-"): v for k, v in kv.items()}


@pytest.mark.parametrize(("cc", "annotations", "target", "total"), [
    (0, {}, 70.0, 100.0),                                    # default 100 * 70 %
    (10, {}, 7.0, 10.0),                                     # CC * 70 %
    (0, ann(target="50"), 35.0, 50.0),                       # annotation target
    (10, ann(target="50"), 7.0, 10.0),                       # min(target, CC)
    (10, ann(target="5"), 3.5, 5.0),
    (0, ann(target="10", target_utilization_percentage="100"), 10.0, 10.0),
    (0, ann(metric="rps"), 140.0, 200.0),                    # rps default 200 * 70 %
    (10, ann(metric="rps", target="150"), 105.0, 150.0),     # CC does not cap rps
    (0, ann(target="0.01"), 0.01, 0.01),                     # never below 0.01
])
def test_target_resolution(cc: int, annotations: dict, target: float, total: float) -> None:
    s = resolve_settings(CFG, annotations, cc)
    assert s.target == pytest.approx(target)
    assert s.total == pytest.approx(total)


def test_windows_and_thresholds() -> None:
    s = resolve_settings(CFG)
    assert (s.stable_window, s.panic_window, s.panic_threshold) == (60, 6, 2.0)
    s = resolve_settings(CFG, ann(window="6s"))
    assert s.panic_window == 1.0  # round(0.6) would be 1; never below 1 s anyway
    s = resolve_settings(CFG, ann(window="100s", panic_window_percentage="25",
                                  panic_threshold_percentage="300"))
    assert (s.stable_window, s.panic_window, s.panic_threshold) == (100, 25, 3.0)


def test_bounds_and_aliases() -> None:
    s = resolve_settings(CFG, {PREFIX + "minScale": "2", PREFIX + "max-scale": "5",
                               PREFIX + "initial-scale": "3", PREFIX + "activation-scale": "2"})
    assert (s.min_scale, s.max_scale, s.initial_scale, s.activation_scale) == (2, 5, 3, 2)
    cfg = parse_autoscaler_config({"min-scale": "1", "max-scale": "9"})
    s = resolve_settings(cfg)
    assert (s.min_scale, s.max_scale) == (1, 9)


@pytest.mark.parametrize(("annotations", "key", "why"), [
    (ann(target="0"), "target", "at least 0.01"),
    (ann(target="lots"), "target", "want a number"),
    (ann(target_utilization_percentage="150"), "target-utilization-percentage", "[1, 100]"),
    (ann(target_burst_capacity="-5"), "target-burst-capacity", "at least 0"),
    (ann(window="5s"), "window", "between 6s and 3600s"),
    (ann(window="7.5s"), "window", "whole number of seconds"),
    (ann(metric="cpu"), "metric", "concurrency, rps"),
    (ann(min_scale="-1"), "min-scale", "at least 0"),
    (ann(min_scale="3", max_scale="2"), "min-scale", "must not exceed max-scale"),
    (ann(initial_scale="0"), "initial-scale", "allow-zero-initial-scale"),
    (ann(activation_scale="5", max_scale="3"), "activation-scale", "must not exceed"),
    (ann(scale_down_delay="2h"), "scale-down-delay", "between 0s and 3600s"),
    (ann(panic_threshold_percentage="50"), "panic-threshold-percentage", "[110, 1000]"),
])
def test_bad_annotation_names_it(annotations: dict, key: str, why: str) -> None:
    with pytest.raises(FieldError) as info:
        resolve_settings(CFG, annotations)
    assert f"annotations[{PREFIX}{key}]" in str(info.value)
    assert why in str(info.value)


def test_bad_container_concurrency() -> None:
    with pytest.raises(FieldError, match="containerConcurrency"):
        resolve_settings(CFG, {}, container_concurrency=1001)
