"""Bounds, activation and the two-step scale to zero (Knative's KPA scaler), fake clock."""

from __future__ import annotations

from knpy.autoscaler.decider import ScaleResult
from knpy.autoscaler.lifecycle import Activation, Lifecycle, Mode
from tests.unit.autoscaler.helpers import settings

T0 = 5000.0
STABLE = 60.0
GRACE = 30.0


def r(desired: int, ebc: int = 0) -> ScaleResult:
    return ScaleResult(desired, ebc, False)


def test_new_revision_activates_then_idles_to_zero_in_two_steps() -> None:
    lc = Lifecycle(settings(), T0)
    assert lc.activation is Activation.ACTIVATING
    out = lc.reconcile(T0, None, ready_pods=0, activator_in_path=False)
    assert (out.apply, out.activation) == (None, Activation.ACTIVATING)

    t = T0 + 2
    out = lc.reconcile(t, r(0), ready_pods=1, activator_in_path=False)
    # While activating, an idle decision changes nothing; the ready pod makes it Active.
    assert (out.apply, out.mode, out.activation) == (None, Mode.PROXY, Activation.ACTIVE)
    out = lc.reconcile(t + 2, r(0), ready_pods=1, activator_in_path=False)
    # Active for less than a stable window: keep one pod, but the activator goes in front.
    assert (out.apply, out.mode, out.activation) == (1, Mode.PROXY, Activation.ACTIVE)

    out = lc.reconcile(t + STABLE - 1, r(0), 1, False)
    assert out.apply == 1 and out.activation is Activation.ACTIVE
    t_inactive = t + STABLE
    out = lc.reconcile(t_inactive, r(0), 1, False)
    assert (out.apply, out.activation) == (None, Activation.INACTIVE)

    # Grace period has passed but the activator is not confirmed in the path: hold.
    out = lc.reconcile(t_inactive + GRACE + 5, r(0), 1, activator_in_path=False)
    assert out.apply is None and "activator" in out.reason


def test_grace_counts_from_proxy_mode_or_inactivity() -> None:
    lc = Lifecycle(settings(), T0)
    lc.reconcile(T0, r(1), 1, True)              # active, serving
    t = T0 + STABLE + 10
    lc.reconcile(t, r(0), 1, True)               # proxy from here; deactivates (active >= 60s)
    assert lc.activation is Activation.INACTIVE
    assert lc.reconcile(t + GRACE - 1, r(0), 1, True).apply is None
    out = lc.reconcile(t + GRACE, r(0), 1, True)
    assert (out.apply, out.reason) == (0, "scale to zero")


def test_pod_retention_period_extends_the_wait() -> None:
    lc = Lifecycle(settings(scale_to_zero_pod_retention_period=100.0), T0)
    lc.reconcile(T0, r(1), 1, True)
    t = T0 + STABLE
    lc.reconcile(t, r(0), 1, True)
    assert lc.reconcile(t + GRACE, r(0), 1, True).apply is None
    assert lc.reconcile(t + 100, r(0), 1, True).apply == 0


def test_scale_from_zero() -> None:
    lc = Lifecycle(settings(initial_scale=0), T0)
    assert lc.activation is Activation.INACTIVE
    out = lc.reconcile(T0, None, 0, True)
    assert (out.apply, out.mode) == (None, Mode.PROXY)
    # The activator reports a held request: the decider wants 1, burst capacity is short.
    out = lc.reconcile(T0 + 1, r(1, -200), 0, True)
    assert (out.apply, out.mode, out.activation) == (1, Mode.PROXY, Activation.ACTIVATING)
    out = lc.reconcile(T0 + 3, r(1, 10), 1, True)
    assert (out.apply, out.mode, out.activation) == (1, Mode.SERVE, Activation.ACTIVE)


def test_bounds_and_initial_scale_until_reached() -> None:
    lc = Lifecycle(settings(min_scale=1, max_scale=4, initial_scale=3), T0)
    assert lc.reconcile(T0, r(0), 0, True).apply == 3   # min raised to initial scale
    assert lc.reconcile(T0 + 2, r(9), 2, True).apply == 4  # max
    assert lc.reconcile(T0 + 4, r(0), 2, True).apply == 3  # initial scale not reached yet
    assert not lc.initialized
    assert lc.reconcile(T0 + 6, r(0), 3, True).apply == 1  # reached: back to min-scale
    assert lc.initialized


def test_scale_to_zero_disabled_keeps_one() -> None:
    lc = Lifecycle(settings(enable_scale_to_zero=False), T0)
    lc.reconcile(T0, r(1), 1, True)
    out = lc.reconcile(T0 + 1000, r(0), 1, True)
    assert out.apply == 1 and out.activation is Activation.ACTIVE


def test_no_data_leaves_an_active_revision_alone() -> None:
    lc = Lifecycle(settings(), T0)
    lc.reconcile(T0, r(2), 2, True)
    out = lc.reconcile(T0 + 2, None, 2, True)
    assert out.apply is None and out.activation is Activation.ACTIVE


def test_activation_timeout_scales_to_zero() -> None:
    lc = Lifecycle(settings(), T0, activation_timeout=100.0)
    assert lc.reconcile(T0 + 50, r(0), 0, True).apply is None
    out = lc.reconcile(T0 + 100, r(0), 0, True)
    assert (out.apply, out.activation) == (0, Activation.INACTIVE)


def test_active_needs_initial_then_min_scale_ready_pods() -> None:
    lc = Lifecycle(settings(initial_scale=3, min_scale=2), T0)
    assert lc.reconcile(T0, r(3), 2, True).activation is Activation.ACTIVATING
    assert lc.reconcile(T0 + 2, r(3), 3, True).activation is Activation.ACTIVE
    assert lc.initialized
    # Once initialised, min-scale ready pods are enough; fewer is Activating again.
    assert lc.reconcile(T0 + 4, r(2), 2, True).activation is Activation.ACTIVE
    assert lc.reconcile(T0 + 6, r(2), 1, True).activation is Activation.ACTIVATING
