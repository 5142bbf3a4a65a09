"""The KPA scaling decision (Knative's `pkg/autoscaler/scaling/autoscaler.go`), pure.

`Decider.scale(now, ready_pods, stable, panic)` is deterministic: time comes in as an
argument (seconds on any monotonic scale), nothing reads a clock, nothing does I/O. The
state it keeps between calls is the panic episode (start, highest want) and the
scale-down-delay window.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from knpy.autoscaler.settings import RevisionSettings

__all__ = ["TICK_INTERVAL", "Decider", "MaxWindow", "ScaleResult"]

TICK_INTERVAL = 2.0  # seconds between decisions; also the delay window's granularity


@dataclass(frozen=True, slots=True)
class ScaleResult:
    desired: int
    excess_burst_capacity: int
    panicking: bool


class MaxWindow:
    """Max of values recorded over the last `window` seconds, in `granularity` buckets.

    Several records in one bucket keep the largest (Knative's max.TimeWindow), so two
    decisions within one tick never let the smaller win.
    """

    __slots__ = ("_entries", "_granularity", "_size")

    def __init__(self, window: float, granularity: float = TICK_INTERVAL) -> None:
        self._granularity = granularity
        self._size = max(1, math.ceil(window / granularity))
        self._entries: deque[tuple[int, int]] = deque()  # (bucket, max in bucket)

    def record(self, now: float, value: int) -> None:
        bucket = math.floor(now / self._granularity)
        entries = self._entries
        if entries and entries[-1][0] == bucket:
            value = max(value, entries[-1][1])
            entries.pop()
        # Ascending-minima deque: older smaller values can never be the max again.
        while entries and entries[-1][1] <= value:
            entries.pop()
        entries.append((bucket, value))
        while entries[0][0] <= bucket - self._size:
            entries.popleft()

    def current(self) -> int:
        return self._entries[0][1] if self._entries else 0


class Decider:
    """One revision's KPA decider.

    A decider created while more than one pod is ready starts in panic mode, holding that
    scale until a full stable window of data exists (Knative does this so an autoscaler
    restart, which loses metric history, never scales a busy revision down).
    """

    __slots__ = ("_delay", "_max_panic_pods", "_panic_time", "settings")

    def __init__(self, settings: RevisionSettings, now: float, ready_pods: int = 0) -> None:
        self.settings = settings
        self._panic_time: float | None = now if ready_pods > 1 else None
        self._max_panic_pods = ready_pods
        self._delay = MaxWindow(settings.scale_down_delay) if settings.scale_down_delay > 0 \
            else None

    @property
    def panicking(self) -> bool:
        return self._panic_time is not None

    def update(self, settings: RevisionSettings) -> None:
        """Swap settings (e.g. a changed annotation); a new delay length restarts the window."""
        if settings.scale_down_delay != self.settings.scale_down_delay:
            self._delay = MaxWindow(settings.scale_down_delay) \
                if settings.scale_down_delay > 0 else None
        self.settings = settings

    def scale(self, now: float, ready_pods: int, stable: float, panic: float) -> ScaleResult:
        """Desired pod count and excess burst capacity from observed stable/panic averages."""
        s = self.settings
        ready = float(max(1, ready_pods))
        # ceil so that a slow rate (e.g. 1.1) can still add one pod; floor for the mirror.
        max_up = math.ceil(s.max_scale_up_rate * ready)
        max_down = math.floor(ready / s.max_scale_down_rate) if s.reachable else 0

        dspc = math.ceil(stable / s.target)
        dppc = math.ceil(panic / s.target)
        want_stable = int(min(max(dspc, max_down), max_up))
        want_panic = int(min(max(dppc, max_down), max_up))
        if s.activation_scale > 1:
            if dspc > 0 and s.activation_scale > want_stable:
                want_stable = s.activation_scale
            if dppc > 0 and s.activation_scale > want_panic:
                want_panic = s.activation_scale

        over_threshold = dppc / ready >= s.panic_threshold
        if over_threshold:
            self._panic_time = now  # start, or extend, the panic episode
        elif self._panic_time is not None and self._panic_time + s.stable_window < now:
            # The surge has had a full stable window to reach the stable average.
            self._panic_time = None
            self._max_panic_pods = 0

        desired = want_stable
        if self._panic_time is not None:
            # Provision for the larger of the two, and never scale down while panicking.
            desired = max(desired, want_panic, self._max_panic_pods)
            self._max_panic_pods = desired

        if self._delay is not None:
            self._delay.record(now, desired)
            # An unreachable revision (no longer routed) scales down at once.
            if s.reachable:
                desired = self._delay.current()

        # EBC = total capacity - target burst capacity - observed (panic) load.
        if s.target_burst_capacity == 0:
            ebc = 0.0
        elif s.target_burst_capacity < 0:
            ebc = -1.0
        else:
            ebc = math.floor(ready_pods * s.total - s.target_burst_capacity - panic)
        return ScaleResult(desired=desired, excess_burst_capacity=int(ebc),
                           panicking=self._panic_time is not None)
