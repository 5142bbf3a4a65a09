"""The request breaker (Knative's queue/activator breaker): compiled build, or the pure twin.

    b = Breaker(queue_depth=10 * cc, max_concurrency=cc, initial_capacity=cc)
    slot = b.reserve()            # non-blocking: a Release, or None
    slot = await b.acquire()      # waits (FIFO); QueueFullError when the queue is full
    ...
    slot.release()                # idempotent

`InfiniteBreaker` is the activator's variant for containerConcurrency 0 (closed or open).
See breaker_py.py for the semantics and docs/hotpaths.md for the build.
"""

from __future__ import annotations

from knpy.runtime.hotpath._select import twin
from knpy.runtime.hotpath.errors import QueueFullError

_impl, COMPILED = twin("breaker")

Breaker = _impl.Breaker
InfiniteBreaker = _impl.InfiniteBreaker
Release = _impl.Release
MAX_BREAKER_CAPACITY: int = _impl.MAX_BREAKER_CAPACITY

__all__ = [
    "COMPILED",
    "MAX_BREAKER_CAPACITY",
    "Breaker",
    "InfiniteBreaker",
    "QueueFullError",
    "Release",
]
