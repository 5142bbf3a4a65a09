# cython: annotation_typing=False
"""Benchmark driver loops for the hot paths, kept out of the package the images install.

Each loop makes the calls a compiled caller would make. `hotpath_drivers_build.compiled()`
compiles this same file, typed by hotpath_drivers_c.pxd (which cimports the compiled hot
paths), into `loadtests.hotpath_drivers_c`: there the calls are C calls, the way compiled
data-plane code makes them. The pure build runs this file as it is, against the pure twins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # module aliases: the .pxd cimports the class names themselves
    from knpy.runtime.hotpath import breaker_py, reqstats_py, windowed_py


def breaker_reserve_release(b: breaker_py.Breaker, n: int) -> int:
    """n uncontended reserve+release pairs; returns how many got a slot."""
    done = 0
    for _i in range(n):
        r = b.reserve()
        if r is not None:
            r.release()
            done += 1
    return done


async def breaker_acquire_release(b: breaker_py.Breaker, n: int) -> int:
    """n uncontended `await acquire()` + release pairs (the asyncio path, same idea)."""
    for _i in range(n):
        r = await b.acquire()
        r.release()
    return n


def record_average(
    buckets: windowed_py.TimedBuckets | windowed_py.WeightedBuckets,
    start: float,
    seconds: int,
    value: float,
) -> float:
    """The autoscaler's per-second pattern, `seconds` times: record a scraped value for the
    current second, then read the window average. Returns the sum of the averages."""
    acc = 0.0
    i = 0
    while i < seconds:
        now = start + i
        buckets.record(now, value + (i & 7))
        acc += buckets.window_average(now)
        i += 1
    return acc


def in_out(stats: reqstats_py.RequestStats, start: float, count: int, step: float) -> float:
    """`count` requests, one every `step` seconds, each lasting half a step: the
    request_in/request_out pair the proxy makes around every request. Returns the time of
    the last event."""
    now = start
    i = 0
    while i < count:
        now = start + i * step
        stats.request_in(now, False)
        now += step * 0.5
        stats.request_out(now, False)
        i += 1
    return now
