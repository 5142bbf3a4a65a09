"""What Knative's PodAutoscaler reconciler does with a decision, pure and clock-injected.

The decider says how many pods the load wants. This turns that into what to apply
(Knative's `kpa/scaler.go` and `computeActiveCondition`):
- clamp to [min, max], with min raised to initial-scale until the target first reaches it;
- track activation: Activating (waiting for ready pods), Active, Inactive;
- scale to zero in two steps: an Active revision wanting 0 keeps 1 pod until it has been
  active for a stable window, then goes Inactive; an Inactive one drops to 0 only once the
  activator is confirmed in the request path and it has been inactive (or proxied through
  the activator) for scale-to-zero-grace-period, and inactive for the pod retention period;
- choose the routing mode: the activator stays in the path (Proxy) when the decider wants
  0 pods, burst capacity is short (EBC < 0), or the revision is inactive with no decision.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from knpy.autoscaler.decider import ScaleResult
from knpy.autoscaler.settings import RevisionSettings

__all__ = ["ACTIVATION_TIMEOUT", "Activation", "Lifecycle", "Mode", "Outcome"]

# Knative: config-deployment progress-deadline (600 s) plus a 10 s buffer. A revision that
# cannot get a ready pod in this time while nothing wants it is scaled to 0.
ACTIVATION_TIMEOUT = 610.0
UNKNOWN = -1


class Activation(enum.Enum):
    ACTIVATING = "Activating"
    ACTIVE = "Active"
    INACTIVE = "Inactive"


class Mode(enum.Enum):
    SERVE = "Serve"   # traffic goes straight to pods
    PROXY = "Proxy"   # traffic goes through the activator


@dataclass(frozen=True, slots=True)
class Outcome:
    """`apply` is the scale to set on the target, or None to leave it as it is."""

    apply: int | None
    want: int          # the scaler's answer (-1 unknown); what activation is computed from
    mode: Mode
    activation: Activation
    reason: str


def _bounded(lo: int, hi: int, x: int) -> int:
    if x < lo:
        return lo
    if hi and x > hi:
        return hi
    return x


class Lifecycle:
    __slots__ = ("_activation_timeout", "_mode_since", "_since", "activation", "initialized",
                 "mode", "settings")

    def __init__(self, settings: RevisionSettings, now: float,
                 activation_timeout: float = ACTIVATION_TIMEOUT) -> None:
        self.settings = settings
        self._activation_timeout = activation_timeout
        # A new revision starts Activating at its initial scale (the scale target is created
        # with it, like a Deployment); with initial-scale 0 it is born Inactive.
        born_inactive = settings.initial_scale == 0
        self.activation = Activation.INACTIVE if born_inactive else Activation.ACTIVATING
        self.initialized = born_inactive
        self.mode = Mode.PROXY
        self._since = now       # when `activation` last changed
        self._mode_since = now  # when `mode` last changed

    def _set(self, activation: Activation, now: float) -> None:
        if activation is not self.activation:
            self.activation = activation
            self._since = now

    def _min_ready(self) -> int:
        """Knative's activeThreshold: until the target first reaches its initial scale, that
        many (at least min-scale) pods must be ready to count as Active; then max(min, 1)."""
        s = self.settings
        return max(s.min_scale, s.initial_scale if not self.initialized else 1, 1)

    def would_activate(self, ready_pods: int) -> bool:
        """An Activating revision has the pods to be Active: the next decision says so."""
        return self.activation is Activation.ACTIVATING and ready_pods >= self._min_ready()

    def reconcile(self, now: float, result: ScaleResult | None, ready_pods: int,
                  activator_in_path: bool) -> Outcome:
        """One pass. `result` is None while the decider has no data.

        `activator_in_path` confirms (a probe the activator answered) that requests for this
        revision reach the activator, so removing the last pod is safe.
        """
        min_ready = self._min_ready()
        if not self.initialized and ready_pods >= min_ready:
            self.initialized = True
            min_ready = self._min_ready()
        decided = UNKNOWN if result is None else result.desired
        ebc = 0 if result is None else result.excess_burst_capacity

        mode = Mode.SERVE
        if decided == 0 or ebc < 0 or (decided == UNKNOWN
                                       and self.activation is Activation.INACTIVE):
            mode = Mode.PROXY
        if mode is not self.mode:
            self.mode, self._mode_since = mode, now

        want, apply, reason = self._scale(now, decided, activator_in_path)

        if want == 0:
            self._set(Activation.INACTIVE, now)
        elif ready_pods < min_ready:
            if want > 0 or self.activation is not Activation.INACTIVE:
                self._set(Activation.ACTIVATING, now)
        elif want > 0 or self.activation is not Activation.INACTIVE:
            self._set(Activation.ACTIVE, now)
        return Outcome(want if apply else None, want, mode, self.activation, reason)

    def _scale(self, now: float, want: int, activator_in_path: bool) -> tuple[int, bool, str]:
        """(want, apply?, why): Knative's scaler.Scale + handleScaleToZero."""
        s = self.settings
        if want < 0 and self.activation is not Activation.ACTIVATING:
            return want, False, "no data yet"
        lo = s.min_scale
        if s.initial_scale > 1 and not self.initialized:
            lo = max(lo, s.initial_scale)
        want = _bounded(lo, s.max_scale, want)
        if want != 0:
            return want, True, "scale"

        if not s.enable_scale_to_zero:
            return 1, True, "scale to zero disabled"
        held = now - self._since
        if self.activation is Activation.ACTIVATING:
            if held >= self._activation_timeout:
                return 0, True, "activation timed out"
            return UNKNOWN, False, "activating"
        if self.activation is Activation.ACTIVE:
            if held >= s.stable_window:
                return 0, False, "idle for a stable window: deactivating"
            return 1, True, "idle, but active for less than a stable window"
        if not activator_in_path:
            return 0, False, "waiting for the activator to be in the path"
        proxied = now - self._mode_since if self.mode is Mode.PROXY else 0.0
        grace_ok = max(held, proxied) >= s.scale_to_zero_grace_period
        if grace_ok and held >= s.scale_to_zero_pod_retention_period:
            return 0, True, "scale to zero"
        return 0, False, "inactive, within the scale-to-zero grace period"
