"""The per-revision throttler: holds requests until a pod of the revision has a free slot.

Each revision has a `RevisionThrottler` with one `PodTracker` per backend address. A tracker
owns the pod's keep-alive pool and its breaker: `Breaker(cc)` enforces containerConcurrency
CC >= 1, an `InfiniteBreaker` just counts requests in flight when CC is 0. Only pods that
passed the activator's probe and fall in this activator's subset (subsetting.assign_slice)
are `assigned`; requests go to those alone.

Everything runs on one event loop. `try_reserve` is the whole "is there capacity, take a
slot" decision: the LB policy reserves on the chosen pod's breaker in the same call, with no
await in between. When nothing is free the request waits in the revision's FIFO queue (at
most `queue_depth`, Knative's 10000; past it: 503). Every event that can free capacity (a
slot released, a pod turned healthy, the subset or CC changed) calls `wake`, which hands
slots to waiters in order. No locks, no retry loop, no revision-level breaker that could
disagree with the pod breakers.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable

from knpy.activator import lbpolicy
from knpy.activator.subsetting import assign_slice
from knpy.runtime.hotpath.breaker import Breaker, InfiniteBreaker, QueueFullError, Release
from knpy.runtime.hotpath.reqstats import RequestStats
from knpy.runtime.observability.metrics import class_histograms
from knpy.runtime.proxy import UpstreamPool
from knpy.runtime.proxy.address import split_address

QUEUE_DEPTH = 10000  # Knative's activator breakerQueueDepth
DEFAULT_TIMEOUT = 300.0  # revision timeoutSeconds default: the longest a request waits


class RevisionGone(Exception):
    """The revision was removed while requests waited for it."""


async def acquire(rt: RevisionThrottler) -> tuple[PodTracker, Release]:
    """Wait in `rt`'s queue for a pod slot (the slow path after `try_reserve` said no).

    Raises QueueFullError at once when the queue is full, TimeoutError after the revision's
    timeout, RevisionGone if the revision is removed meanwhile. Cancelling the wait (the
    client went away) gives back a slot granted in the same instant.
    """
    fut = rt.enqueue()
    if fut is None:
        raise QueueFullError()
    try:
        async with asyncio.timeout(rt.timeout or None):
            return await fut
    except RevisionGone:
        raise
    except BaseException:
        rt.leave(fut)
        raise


def _breaker(cc: int) -> Breaker | InfiniteBreaker:
    if cc == 0:
        b = InfiniteBreaker()
        b.update_capacity(1)
        return b
    # Only reserve() is used (never acquire), so the breaker's own queue stays empty.
    return Breaker(1, cc, cc)


class PodTracker:
    """One backend (a queue-proxy address): its breaker, pool and probe state."""

    __slots__ = ("breaker", "dest", "healthy", "pool", "rt")

    def __init__(self, rt: RevisionThrottler, dest: str, cc: int) -> None:
        host, port = split_address(dest)
        self.rt = rt
        self.dest = dest
        self.pool = UpstreamPool(host, port)
        self.breaker: Breaker | InfiniteBreaker = _breaker(cc)
        self.healthy = False

    def __repr__(self) -> str:
        return f"<PodTracker {self.dest} healthy={self.healthy} {self.breaker!r}>"


class RevisionThrottler:
    __slots__ = (
        "activator_count",
        "activator_index",
        "assigned",
        "cc",
        "closed",
        "key",
        "latency",
        "pending",
        "policy",
        "policy_name",
        "queue_depth",
        "stats",
        "stats_poked",
        "timeout",
        "trackers",
        "waiters",
    )

    def __init__(self, key: str, container_concurrency: int = 0, *,
                 timeout: float = DEFAULT_TIMEOUT, queue_depth: int = QUEUE_DEPTH) -> None:
        if container_concurrency < 0:
            raise ValueError(f"containerConcurrency: want >= 0, got {container_concurrency}")
        if queue_depth < 1:
            raise ValueError(f"queue depth: want >= 1, got {queue_depth}")
        self.key = key
        self.cc = container_concurrency
        self.timeout = timeout
        self.queue_depth = queue_depth
        self.policy, self.policy_name = lbpolicy.for_concurrency(container_concurrency)
        self.trackers: dict[str, PodTracker] = {}
        self.assigned: list[PodTracker] = []
        self.activator_index = -1
        self.activator_count = 1
        self.waiters: deque[asyncio.Future[tuple[PodTracker, Release]]] = deque()
        self.pending = 0  # live waiters (cancelled ones may still sit in the deque)
        self.closed = False
        # Owned by the stats reporter (stats.py): this revision's RequestStats, if active.
        self.stats: RequestStats | None = None
        self.stats_poked = False
        # Request durations by response code class, for metrics (activator/metrics.py).
        self.latency = class_histograms()

    # ------------------------------------------------------------------ request path
    def try_reserve(self) -> tuple[PodTracker, Release] | None:
        """A pod with a slot reserved now, or None. Never jumps the queue."""
        if self.pending:
            return None
        return self.policy(self.assigned)

    def enqueue(self) -> asyncio.Future[tuple[PodTracker, Release]] | None:
        """Join the FIFO queue; None when it already holds `queue_depth` requests."""
        if self.pending >= self.queue_depth:
            return None
        fut: asyncio.Future[tuple[PodTracker, Release]] = (
            asyncio.get_running_loop().create_future())
        if self.closed:
            fut.set_exception(RevisionGone(self.key))
            return fut
        self.waiters.append(fut)
        self.pending += 1
        self.wake()  # capacity may have appeared while nobody was waiting
        return fut

    def leave(self, fut: asyncio.Future[tuple[PodTracker, Release]]) -> None:
        """A waiter gave up (timeout, client gone); call exactly once per enqueued future.
        A slot granted meanwhile goes to the next waiter."""
        if not fut.done():
            fut.cancel()
            self.pending -= 1
        elif fut.cancelled():
            if not self.closed:
                self.pending -= 1  # cancelled with its waiting task, never granted
        elif fut.exception() is None:
            _, slot = fut.result()  # granted just before the waiter gave up: pass it on
            slot.release()
            self.wake()
            return
        else:
            return  # failed by close()
        if len(self.waiters) > 2 * self.pending + 16:
            self.waiters = deque(f for f in self.waiters if not f.done())

    def wake(self) -> None:
        """Hand free slots to waiters, oldest first."""
        waiters = self.waiters
        while waiters:
            fut = waiters[0]
            if fut.done():
                waiters.popleft()
                continue
            pick = self.policy(self.assigned)
            if pick is None:
                return
            waiters.popleft()
            self.pending -= 1
            fut.set_result(pick)

    # ------------------------------------------------------------------ state changes
    @property
    def capacity(self) -> int:
        """Concurrent requests this activator may send: CC x assigned pods; -1 = unlimited
        (CC 0 with at least one pod); 0 while no pod is assigned."""
        if not self.assigned:
            return 0
        return -1 if self.cc == 0 else self.cc * len(self.assigned)

    def set_dests(self, dests: Iterable[str]) -> tuple[list[PodTracker], list[PodTracker]]:
        """Make the backend set `dests`; returns (added, removed) trackers. Requests in
        flight on a removed pod finish; its idle connections close."""
        wanted = set(dests)
        for d in wanted:
            split_address(d)  # reject bad addresses before changing anything
        removed = [t for d, t in self.trackers.items() if d not in wanted]
        for t in removed:
            del self.trackers[t.dest]
            t.healthy = False
            t.pool.close()
        added = []
        for d in sorted(wanted - self.trackers.keys()):
            t = PodTracker(self, d, self.cc)
            self.trackers[d] = t
            added.append(t)
        if removed:
            self._reassign()
        return added, removed

    def set_healthy(self, dest: str, healthy: bool) -> None:
        t = self.trackers.get(dest)
        if t is not None and t.healthy != healthy:
            t.healthy = healthy
            self._reassign()

    def set_activators(self, index: int, count: int) -> None:
        if (index, count) != (self.activator_index, self.activator_count):
            self.activator_index, self.activator_count = index, count
            self._reassign()

    def set_container_concurrency(self, cc: int) -> None:
        """A changed CC gets fresh breakers and the matching policy; slots held on the old
        breakers are released into them and forgotten."""
        if cc == self.cc:
            return
        if cc < 0:
            raise ValueError(f"containerConcurrency: want >= 0, got {cc}")
        self.cc = cc
        self.policy, self.policy_name = lbpolicy.for_concurrency(cc)
        for t in self.trackers.values():
            t.breaker = _breaker(cc)
        self.wake()

    def _reassign(self) -> None:
        healthy = [d for d, t in self.trackers.items() if t.healthy]
        mine = assign_slice(healthy, self.activator_index, self.activator_count)
        self.assigned = [self.trackers[d] for d in mine]
        self.wake()

    def close(self) -> None:
        """The revision is gone: fail every waiter, close idle connections."""
        self.closed = True
        while self.waiters:
            fut = self.waiters.popleft()
            if not fut.done():
                fut.set_exception(RevisionGone(self.key))
        self.pending = 0
        for t in self.trackers.values():
            t.pool.close()
        self.assigned = []

    def __repr__(self) -> str:
        return (f"<RevisionThrottler {self.key} cc={self.cc} {self.policy_name} "
                f"pods={len(self.trackers)} assigned={len(self.assigned)} "
                f"pending={self.pending}>")
