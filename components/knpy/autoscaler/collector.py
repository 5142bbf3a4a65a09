"""Per-revision windowed request metrics (Knative's MetricCollector `collection`).

Every stat, scraped from a pod or streamed by the activator, is added to four windows:
concurrency and requests-per-second, each over the stable and the panic window. Proxied
requests were already counted by the activator, so they are subtracted here.
"""

from __future__ import annotations

from knpy.autoscaler.settings import RPS, WEIGHTED, RevisionSettings
from knpy.runtime.contract.stat import Stat
from knpy.runtime.hotpath.windowed import TimedBuckets, WeightedBuckets

__all__ = ["Collection"]


class Collection:
    __slots__ = ("_conc_panic", "_conc_stable", "_rps_panic", "_rps_stable", "settings")

    def __init__(self, settings: RevisionSettings) -> None:
        self._reset(settings)

    def _reset(self, settings: RevisionSettings) -> None:
        self.settings = settings
        kind = WeightedBuckets if settings.aggregation == WEIGHTED else TimedBuckets
        self._conc_stable = kind(settings.stable_window)
        self._conc_panic = kind(settings.panic_window)
        self._rps_stable = kind(settings.stable_window)
        self._rps_panic = kind(settings.panic_window)

    def update(self, settings: RevisionSettings, now: float) -> None:
        """New settings: resize the windows in place, keeping the data that still fits."""
        if settings.aggregation != self.settings.aggregation:
            self._reset(settings)
            return
        self._conc_stable.resize_window(settings.stable_window, now)
        self._rps_stable.resize_window(settings.stable_window, now)
        self._conc_panic.resize_window(settings.panic_window, now)
        self._rps_panic.resize_window(settings.panic_window, now)
        self.settings = settings

    def record(self, now: float, stat: Stat) -> None:
        concurrency = stat.average_concurrent_requests - stat.average_proxied_concurrent_requests
        rps = stat.request_count - stat.proxied_request_count
        self._conc_stable.record(now, concurrency)
        self._conc_panic.record(now, concurrency)
        self._rps_stable.record(now, rps)
        self._rps_panic.record(now, rps)

    def stable_and_panic(self, now: float) -> tuple[float, float] | None:
        """(stable, panic) averages of the revision's scaling metric; None without data."""
        if self.settings.metric == RPS:
            stable, panic = self._rps_stable, self._rps_panic
        else:
            stable, panic = self._conc_stable, self._conc_panic
        if stable.is_empty(now):
            return None
        return stable.window_average(now), panic.window_average(now)
