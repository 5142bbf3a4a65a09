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

from typing import TYPE_CHECKING

from knpy.runtime.hotpath._select import NO_EXTENSIONS
from knpy.runtime.hotpath.errors import QueueFullError

if TYPE_CHECKING or NO_EXTENSIONS:
    from knpy.runtime.hotpath.breaker_py import (
        MAX_BREAKER_CAPACITY,
        Breaker,
        InfiniteBreaker,
        Release,
    )

    COMPILED = False
else:
    try:
        from knpy.runtime.hotpath.breaker_c import (
            MAX_BREAKER_CAPACITY,
            Breaker,
            InfiniteBreaker,
            Release,
        )

        COMPILED = True
    except ImportError:
        from knpy.runtime.hotpath.breaker_py import (
            MAX_BREAKER_CAPACITY,
            Breaker,
            InfiniteBreaker,
            Release,
        )

        COMPILED = False

__all__ = [
    "COMPILED",
    "MAX_BREAKER_CAPACITY",
    "Breaker",
    "InfiniteBreaker",
    "QueueFullError",
    "Release",
]
