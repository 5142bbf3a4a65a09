"""A deduplicating, rate-limited work queue of keys with a slow lane (client-go + knative).

Semantics (client-go's workqueue):
- a key is queued at most once however often it is added (dirty set);
- a key being processed is never handed to a second worker; if it is added meanwhile it
  is queued again when `done(key)` is called, so no change is missed;
- `add_rate_limited` re-adds after max(per-key exponential backoff, overall token bucket);
  `forget` resets the key's backoff;
- the slow lane (knative's two-lane queue) holds resync keys; workers take from it only
  when the fast lane is empty, so a global resync never delays a real change.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict

__all__ = ["BucketRateLimiter", "ExponentialRateLimiter", "MaxOfRateLimiter", "RateLimiter",
           "ShutDown", "WorkQueue", "default_rate_limiter"]


class RateLimiter:
    def when(self, key: str) -> float:
        raise NotImplementedError

    def forget(self, key: str) -> None:
        raise NotImplementedError

    def retries(self, key: str) -> int:
        raise NotImplementedError


class ExponentialRateLimiter(RateLimiter):
    """base * 2^failures, capped at max_delay, per key."""

    def __init__(self, base: float = 0.005, max_delay: float = 1000.0) -> None:
        self.base, self.max_delay = base, max_delay
        self._failures: dict[str, int] = {}

    def when(self, key: str) -> float:
        n = self._failures.get(key, 0)
        self._failures[key] = n + 1
        return min(self.base * (2.0 ** min(n, 62)), self.max_delay)

    def forget(self, key: str) -> None:
        self._failures.pop(key, None)

    def retries(self, key: str) -> int:
        return self._failures.get(key, 0)


class BucketRateLimiter(RateLimiter):
    """An overall token bucket (qps, burst): the delay until a token is free."""

    def __init__(self, qps: float = 10.0, burst: int = 100, clock=time.monotonic) -> None:
        self.qps, self.burst, self.clock = qps, burst, clock
        self._tokens = float(burst)
        self._last = clock()

    def when(self, key: str) -> float:
        now = self.clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.qps)
        self._last = now
        self._tokens -= 1.0  # reserve, possibly going negative: the debt is the wait
        return 0.0 if self._tokens >= 0 else -self._tokens / self.qps

    def forget(self, key: str) -> None:
        pass

    def retries(self, key: str) -> int:
        return 0


class MaxOfRateLimiter(RateLimiter):
    def __init__(self, *limiters: RateLimiter) -> None:
        self.limiters = limiters

    def when(self, key: str) -> float:
        return max(lim.when(key) for lim in self.limiters)

    def forget(self, key: str) -> None:
        for lim in self.limiters:
            lim.forget(key)

    def retries(self, key: str) -> int:
        return max(lim.retries(key) for lim in self.limiters)


def default_rate_limiter() -> RateLimiter:
    """client-go's default controller limiter: 5ms..1000s per key, 10 qps / 100 burst."""
    return MaxOfRateLimiter(ExponentialRateLimiter(0.005, 1000.0), BucketRateLimiter(10, 100))


class ShutDown(Exception):
    """The queue was shut down; workers should exit."""


class WorkQueue:
    def __init__(self, name: str = "", rate_limiter: RateLimiter | None = None) -> None:
        self.name = name
        self.rate_limiter = rate_limiter or default_rate_limiter()
        self._fast: OrderedDict[str, None] = OrderedDict()
        self._slow: OrderedDict[str, None] = OrderedDict()
        self._dirty: set[str] = set()
        self._dirty_slow: set[str] = set()  # dirty keys whose only add was a slow one
        self._processing: set[str] = set()
        self._waiting: dict[str, tuple[float, asyncio.TimerHandle]] = {}
        self._ready = asyncio.Event()
        self._shutdown = False

    # ------------------------------------------------------------------ adding
    def add(self, key: str) -> None:
        self._add(key, slow=False)

    def add_slow(self, key: str) -> None:
        """Queue a resync: dedups with fast adds and never overtakes them."""
        self._add(key, slow=True)

    def _add(self, key: str, slow: bool) -> None:
        if self._shutdown:
            return
        if key in self._dirty:
            if not slow and key in self._dirty_slow:
                # promote a queued resync to the fast lane
                self._dirty_slow.discard(key)
                if self._slow.pop(key, False) is None:
                    self._fast[key] = None
            return
        self._dirty.add(key)
        if slow:
            self._dirty_slow.add(key)
        if key in self._processing:
            return  # re-queued by done()
        (self._slow if slow else self._fast)[key] = None
        self._notify()

    def add_after(self, key: str, delay: float) -> None:
        if self._shutdown:
            return
        if delay <= 0:
            self.add(key)
            return
        loop = asyncio.get_running_loop()
        due = loop.time() + delay
        existing = self._waiting.get(key)
        if existing is not None:
            if existing[0] <= due:
                return  # an earlier (or equal) wake-up is already scheduled
            existing[1].cancel()
        handle = loop.call_at(due, self._fire, key)
        self._waiting[key] = (due, handle)

    def _fire(self, key: str) -> None:
        self._waiting.pop(key, None)
        self.add(key)

    def add_rate_limited(self, key: str) -> float:
        delay = self.rate_limiter.when(key)
        self.add_after(key, delay)
        return delay

    def forget(self, key: str) -> None:
        self.rate_limiter.forget(key)

    def retries(self, key: str) -> int:
        return self.rate_limiter.retries(key)

    @property
    def depth(self) -> int:
        """Keys ready to be taken (not those waiting out a delay)."""
        return len(self._fast) + len(self._slow)

    # ------------------------------------------------------------------ taking
    def _notify(self) -> None:
        # Waiting workers all wake; the first takes the key, the rest wait again.
        self._ready.set()

    def _pop(self) -> str | None:
        for lane in (self._fast, self._slow):
            if lane:
                key, _ = lane.popitem(last=False)
                self._dirty.discard(key)
                self._dirty_slow.discard(key)
                self._processing.add(key)
                return key
        return None

    async def get(self) -> str:
        """The next key; the caller must call done(key) when finished with it."""
        while True:
            if self._shutdown:
                raise ShutDown
            key = self._pop()
            if key is not None:
                return key
            self._ready.clear()
            await self._ready.wait()

    def done(self, key: str) -> None:
        self._processing.discard(key)
        if key in self._dirty:
            (self._slow if key in self._dirty_slow else self._fast)[key] = None
            self._notify()

    def __len__(self) -> int:
        return len(self._fast) + len(self._slow)

    @property
    def processing(self) -> frozenset[str]:
        return frozenset(self._processing)

    def pending_after(self) -> dict[str, float]:
        """Keys scheduled for later, with their due time (loop clock)."""
        return {k: due for k, (due, _) in self._waiting.items()}

    async def shutdown(self) -> None:
        self._shutdown = True
        for _, handle in self._waiting.values():
            handle.cancel()
        self._waiting.clear()
        self._ready.set()
