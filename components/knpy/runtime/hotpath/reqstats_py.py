# cython: annotation_typing=False
"""Request statistics: Knative's RequestStats (knative.dev/networking pkg/http/stats).

The queue-proxy and the activator call `request_in` and `request_out` around every request
they proxy and `report` once a second; the report feeds the autoscaler's Stat message:

- average concurrency: the time-weighted average of in-flight requests since the last report
  (two requests of 0.5 s each within one second average 1.0);
- request count: requests that arrived since the last report;
- the same two figures for proxied requests (forwarded by the activator,
  `K-Proxy-Request: activator`). A proxied request counts in BOTH the totals and the proxied
  figures, as in Knative, so the autoscaler subtracts the proxied part itself.

Timestamps are seconds on any monotonic clock. An event older than the last one seen is
applied without moving time backwards (Knative ignores negative durations: with concurrent
callers, timestamps can arrive slightly out of order).

This file is the pure-Python twin AND the source of the compiled build (typed by
cext/reqstats_c.pxd): keep the arithmetic plain so both builds give identical floats.
"""

from __future__ import annotations

# Largest finite double: `not (-x <= t <= x)` rejects NaN and infinities in one test.
_FLOAT_MAX = 1.7976931348623157e308


class RequestStats:
    """Concurrency and request counts of one revision (or pod), reported once a second."""

    def __init__(self, now: float) -> None:
        if isinstance(now, bool) or not isinstance(now, (int, float)):
            raise TypeError(f"now must be a time in seconds, got {now!r}")
        if not (-_FLOAT_MAX <= now <= _FLOAT_MAX):
            raise ValueError(f"now must be a finite time in seconds, got {now!r}")
        # State: not reset by a report.
        self._concurrency = 0.0
        self._proxied_concurrency = 0.0
        self._last_change = float(now)
        # Window: reset by every report.
        self._request_count = 0.0
        self._proxied_count = 0.0
        self._concurrency_seconds = 0.0  # integral of concurrency over time
        self._proxied_concurrency_seconds = 0.0
        self._seconds = 0.0  # time covered since the last report

    @property
    def concurrency(self) -> float:
        """Requests in flight right now (proxied ones included)."""
        return self._concurrency

    @property
    def proxied_concurrency(self) -> float:
        """Proxied requests in flight right now."""
        return self._proxied_concurrency

    def _advance(self, now: float) -> None:
        """Integrate the current concurrency up to `now` (Knative's compute)."""
        if not (-_FLOAT_MAX <= now <= _FLOAT_MAX):
            raise ValueError(f"now must be a finite time in seconds, got {now!r}")
        dt = now - self._last_change
        if dt > 0.0:
            self._seconds += dt
            self._concurrency_seconds += self._concurrency * dt
            self._proxied_concurrency_seconds += self._proxied_concurrency * dt
            self._last_change = now

    def request_in(self, now: float, proxied: bool = False) -> None:
        """A request arrived at `now`; `proxied` if the activator forwarded it."""
        self._advance(now)
        self._concurrency += 1.0
        self._request_count += 1.0
        if proxied:
            self._proxied_concurrency += 1.0
            self._proxied_count += 1.0

    def request_out(self, now: float, proxied: bool = False) -> None:
        """A request finished at `now`; `proxied` must match its `request_in`."""
        if proxied:
            if self._proxied_concurrency < 1.0:
                raise ValueError("request_out(proxied=True) without a matching proxied request_in")
        elif self._concurrency - self._proxied_concurrency < 1.0:
            raise ValueError("request_out(proxied=False) without a matching request_in")
        self._advance(now)
        self._concurrency -= 1.0
        if proxied:
            self._proxied_concurrency -= 1.0

    def report(self, now: float) -> tuple[float, float, float, float]:
        """(average_concurrency, average_proxied_concurrency, request_count,
        proxied_request_count) since the last report; starts a new reporting window.

        The averages are 0 when no time has passed since the last report.
        """
        self._advance(now)
        average = 0.0
        proxied_average = 0.0
        if self._seconds > 0.0:
            average = self._concurrency_seconds / self._seconds
            proxied_average = self._proxied_concurrency_seconds / self._seconds
        result = (average, proxied_average, self._request_count, self._proxied_count)
        self._request_count = 0.0
        self._proxied_count = 0.0
        self._concurrency_seconds = 0.0
        self._proxied_concurrency_seconds = 0.0
        self._seconds = 0.0
        return result
