"""config-autoscaler parsing: Knative's defaults, and errors that name the key."""

from __future__ import annotations

import pytest

from knpy.apis.autoscaling.config import AutoscalerConfig, parse_autoscaler_config
from knpy.runtime.config import FieldError


def test_defaults_match_knative() -> None:
    c = parse_autoscaler_config({})
    assert c == AutoscalerConfig()
    assert (c.container_concurrency_target_fraction, c.container_concurrency_target_default,
            c.rps_target_default, c.target_burst_capacity) == (0.7, 100, 200, 211)
    assert (c.stable_window, c.panic_window_percentage, c.panic_threshold_percentage) == \
        (60, 10, 200)
    assert (c.max_scale_up_rate, c.max_scale_down_rate, c.activator_capacity) == (1000, 2, 100)
    assert (c.scale_to_zero_grace_period, c.scale_to_zero_pod_retention_period,
            c.scale_down_delay) == (30, 0, 0)
    assert (c.initial_scale, c.min_scale, c.max_scale, c.enable_scale_to_zero) == \
        (1, 0, 0, True)


def test_values_parse_and_example_block_is_ignored() -> None:
    c = parse_autoscaler_config({
        "_example": "this is documentation, not config",
        "stable-window": "6s",
        "scale-to-zero-grace-period": "1m30s",
        "container-concurrency-target-percentage": "50",
        "enable-scale-to-zero": "false",
        "initial-scale": "0",
        "allow-zero-initial-scale": "true",
        "target-burst-capacity": "-1",
        "scale-down-delay": "10s",
    })
    assert c.stable_window == 6 and c.scale_to_zero_grace_period == 90
    assert c.container_concurrency_target_fraction == 0.5
    assert not c.enable_scale_to_zero
    assert c.initial_scale == 0 and c.target_burst_capacity == -1 and c.scale_down_delay == 10


@pytest.mark.parametrize(("key", "value", "why"), [
    ("stable-window", "abc", "want a duration"),
    ("stable-window", "5s", "between 6s and 1h"),
    ("stable-window", "2h", "between 6s and 1h"),
    ("stable-window", "6500ms", "whole number of seconds"),
    ("scale-to-zero-grace-period", "5s", "at least 6s"),
    ("scale-down-delay", "1500ms", "whole number of seconds"),
    ("scale-to-zero-pod-retention-period", "-1s", "must not be negative"),
    ("target-burst-capacity", "-2", ">= 0 or exactly -1"),
    ("container-concurrency-target-percentage", "0", "(0, 100]"),
    ("container-concurrency-target-percentage", "110", "(0, 100]"),
    ("container-concurrency-target-default", "0", "at least 0.01"),
    ("requests-per-second-target-default", "x", "want a number"),
    ("max-scale-up-rate", "1", "greater than 1"),
    ("max-scale-down-rate", "0.5", "greater than 1"),
    ("activator-capacity", "0", "at least 1"),
    ("panic-window-percentage", "0", "[1, 100]"),
    ("panic-threshold-percentage", "100", "[110, 1000]"),
    ("initial-scale", "0", "allow-zero-initial-scale"),
    ("initial-scale", "-1", "must not be negative"),
    ("enable-scale-to-zero", "maybe", "true or false"),
    ("min-scale", "two", "want an integer"),
])
def test_bad_value_names_the_key(key: str, value: str, why: str) -> None:
    with pytest.raises(FieldError) as info:
        parse_autoscaler_config({key: value})
    message = str(info.value)
    assert f"config-autoscaler[{key}]" in message
    assert why in message


def test_every_bad_key_is_reported_at_once() -> None:
    with pytest.raises(FieldError) as info:
        parse_autoscaler_config({"stable-window": "1s", "max-scale-up-rate": "0",
                                 "min-scale": "5", "max-scale": "2"})
    assert info.value.paths == ["config-autoscaler[max-scale-up-rate]",
                                "config-autoscaler[min-scale]",
                                "config-autoscaler[stable-window]"]
