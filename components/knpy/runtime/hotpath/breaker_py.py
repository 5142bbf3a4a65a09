# cython: annotation_typing=False
"""The request breaker: a concurrency limit with a bounded FIFO wait queue (pure twin).

Semantics follow Knative's pkg/queue/breaker.go, rebuilt for one asyncio event loop:

- At most `capacity` requests hold a slot ("in flight"); `capacity` moves live between 0 and
  `max_concurrency` (the activator sets it from the ready pods).
- Requests beyond that wait in FIFO order. Holders plus waiters may not exceed
  `queue_depth + max_concurrency` (Knative's pending limit): past it `acquire` fails at once
  with QueueFullError, which the proxies answer with 503.
- `reserve()` never waits: a slot now, or None.

Everything runs on the event loop's thread, so "check capacity, take the slot" is one step
with no `await` in between, and no locks or atomics are needed. A released slot is handed
straight to the oldest waiter (it stays counted as in flight), so a newcomer can never jump
the queue between the release and the waiter waking up.

This file is also the Cython source: cext/breaker_c.pxd types it and setup.py compiles it into
knpy.runtime.hotpath.breaker_c. Keep it plain Python: C types live in the .pxd. The only Cython
names here are the class decorators Cython does not take from a .pxd (freelist, no_gc); they
are stubbed when Cython is absent, so the pure twin needs nothing beyond the standard library.
"""

from __future__ import annotations

import asyncio
from collections import deque

from knpy.runtime.hotpath.errors import QueueFullError

try:
    import cython
except ImportError:  # Cython is a build tool, not a runtime dependency of the pure twin
    from types import SimpleNamespace

    cython = SimpleNamespace(cclass=lambda c: c, no_gc=lambda c: c, freelist=lambda n: lambda c: c)

# Knative's MaxBreakerCapacity (math.MaxInt32). Bounding every count keeps the compiled
# build's C integers far from overflow, so both builds accept exactly the same values.
MAX_BREAKER_CAPACITY = 2**31 - 1


def _check_count(name: str, value: object, low: int, high: int) -> int:
    """Return `value` if it is an int in [low, high]; otherwise raise naming `name`."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low or value > high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    return value


class _Gate:
    """What both breakers share: the in-flight count and the FIFO queue of waiting acquires.

    `_waiters` holds one future per waiting acquire. A waiter cancelled while it waits is
    left in the deque and skipped when reached (removing it would cost O(n) per cancel);
    `_pending` is the exact count of waiters still in the queue.
    """

    __slots__ = ("_capacity", "_inflight", "_pending", "_waiters")

    def __init__(self) -> None:
        self._inflight = 0
        self._capacity = 0
        self._pending = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def inflight(self) -> int:
        """Requests holding a slot (granted and not yet released)."""
        return self._inflight

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def pending(self) -> int:
        """Acquires waiting for a slot."""
        return self._pending

    def _release_slot(self) -> None:
        raise NotImplementedError

    def _wake(self) -> None:
        raise NotImplementedError

    async def _wait_for_slot(self) -> None:
        """Queue up and wait until `_wake` hands this caller a slot."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        self._pending += 1
        try:
            await fut
        except BaseException:
            if fut.done() and not fut.cancelled():
                # Granted, then cancelled before it resumed: the slot is ours, pass it on.
                self._release_slot()
            else:
                fut.cancel()
                self._pending -= 1
                self._compact()
            raise

    def _compact(self) -> None:
        """Drop cancelled waiters once they outnumber the live ones (bounds the deque)."""
        if len(self._waiters) > 2 * self._pending + 16:
            self._waiters = deque([f for f in self._waiters if not f.done()])


# One Release per request: the compiled build recycles them from a freelist instead of the
# allocator. no_gc: a Release only points at its breaker, never into a cycle of its own.
@cython.freelist(256)
@cython.no_gc
@cython.cclass
class Release:
    """A held slot. `release()` gives it back; calling it again is a no-op.

    Only `reserve()` and `acquire()` make them: a hand-made Release would give back a slot
    nobody took.
    """

    __slots__ = ("_gate",)
    _gate: _Gate | None  # C-typed in the .pxd; None once released

    def __init__(self) -> None:
        raise TypeError("Release handles come from Breaker.reserve() or acquire()")

    def release(self) -> None:
        gate = self._gate
        if gate is not None:
            self._gate = None
            gate._release_slot()

    @property
    def released(self) -> bool:
        return self._gate is None


def _new_release(gate: _Gate) -> Release:
    # __new__ + attribute set: the compiled build turns this into a freelist allocation.
    r = Release.__new__(Release)
    r._gate = gate
    return r


class Breaker(_Gate):
    """Knative's breaker: `capacity` slots (0..max_concurrency) and a bounded FIFO queue."""

    __slots__ = ("_max_concurrency", "_queue_depth", "_total_slots")

    def __init__(self, queue_depth: int, max_concurrency: int, initial_capacity: int) -> None:
        super().__init__()
        self._queue_depth = _check_count("queue_depth", queue_depth, 1, MAX_BREAKER_CAPACITY)
        self._max_concurrency = _check_count(
            "max_concurrency", max_concurrency, 0, MAX_BREAKER_CAPACITY
        )
        self._capacity = _check_count("initial_capacity", initial_capacity, 0, max_concurrency)
        self._total_slots = self._queue_depth + self._max_concurrency

    @property
    def queue_depth(self) -> int:
        return self._queue_depth

    @property
    def max_concurrency(self) -> int:
        return self._max_concurrency

    def reserve(self) -> Release | None:
        """Take a slot if one is free now; None otherwise. Never waits."""
        # Waiters exist only while every slot is taken (_wake hands each freed slot to the
        # oldest waiter), so a free slot here jumps no queue.
        if self._inflight < self._capacity:
            self._inflight += 1
            return _new_release(self)
        return None

    async def acquire(self) -> Release:
        """Take a slot, waiting in FIFO order if none is free.

        Raises QueueFullError at once when holders plus waiters already fill
        queue_depth + max_concurrency. Cancelling the wait never leaks a slot.
        """
        if self._inflight < self._capacity:
            self._inflight += 1
            return _new_release(self)
        if self._inflight + self._pending >= self._total_slots:
            raise QueueFullError()
        await self._wait_for_slot()
        return _new_release(self)

    def update_capacity(self, capacity: int) -> None:
        """Set the number of slots (0..max_concurrency) and wake waiters that now fit.

        Lowering it never interrupts holders: in-flight requests above the new capacity
        finish, and waiters get slots only once in-flight drops below it.
        """
        self._capacity = _check_count("capacity", capacity, 0, self._max_concurrency)
        self._wake()

    def _release_slot(self) -> None:
        self._inflight -= 1
        if self._pending > 0:
            self._wake()

    def _wake(self) -> None:
        waiters = self._waiters
        while self._inflight < self._capacity and len(waiters) > 0:
            fut = waiters.popleft()
            if fut.done():
                continue  # cancelled while waiting; its acquire did the bookkeeping
            fut.set_result(None)
            self._inflight += 1
            self._pending -= 1

    def __repr__(self) -> str:
        return (
            f"<Breaker inflight={self._inflight} pending={self._pending} "
            f"capacity={self._capacity}/{self._max_concurrency} "
            f"queue_depth={self._queue_depth}>"
        )


class InfiniteBreaker(_Gate):
    """The activator's breaker for containerConcurrency 0: closed (0) or unlimited (1).

    `capacity` is 0 or 1 as in Knative: 0 means every request waits, 1 means no limit. Any
    positive `update_capacity` opens it and wakes every waiter; there is no queue limit.
    """

    __slots__ = ()

    def reserve(self) -> Release | None:
        if self._capacity > 0:
            self._inflight += 1
            return _new_release(self)
        return None

    async def acquire(self) -> Release:
        if self._capacity > 0:
            self._inflight += 1
            return _new_release(self)
        await self._wait_for_slot()
        return _new_release(self)

    def update_capacity(self, capacity: int) -> None:
        cap = _check_count("capacity", capacity, 0, MAX_BREAKER_CAPACITY)
        self._capacity = 1 if cap > 0 else 0
        self._wake()

    def _release_slot(self) -> None:
        self._inflight -= 1

    def _wake(self) -> None:
        waiters = self._waiters
        while self._capacity > 0 and len(waiters) > 0:
            fut = waiters.popleft()
            if fut.done():
                continue
            fut.set_result(None)
            self._inflight += 1
            self._pending -= 1

    def __repr__(self) -> str:
        return (
            f"<InfiniteBreaker inflight={self._inflight} pending={self._pending} "
            f"open={self._capacity > 0}>"
        )
