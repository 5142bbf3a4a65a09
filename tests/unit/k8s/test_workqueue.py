"""WorkQueue: dedup, in-flight re-queue, slow lane, per-key backoff, token bucket."""

from __future__ import annotations

import asyncio

import pytest

from knpy.runtime.k8s.workqueue import (
    BucketRateLimiter,
    ExponentialRateLimiter,
    MaxOfRateLimiter,
    ShutDown,
    WorkQueue,
)


async def test_dedup_while_queued() -> None:
    q = WorkQueue()
    for _ in range(5):
        q.add("ns/a")
    q.add("ns/b")
    assert len(q) == 2
    assert await q.get() == "ns/a"
    assert await q.get() == "ns/b"
    assert len(q) == 0


async def test_key_added_while_processing_is_requeued_once_on_done() -> None:
    q = WorkQueue()
    q.add("k")
    k = await q.get()
    q.add("k")
    q.add("k")
    assert len(q) == 0, "a key in flight is not handed to a second worker"
    q.done(k)
    assert len(q) == 1
    assert await q.get() == "k"
    q.done("k")
    assert len(q) == 0


async def test_slow_lane_only_when_fast_is_empty() -> None:
    q = WorkQueue()
    q.add_slow("resync/1")
    q.add_slow("resync/2")
    q.add("real/change")
    assert await q.get() == "real/change"
    assert await q.get() == "resync/1"


async def test_fast_add_promotes_a_queued_resync() -> None:
    q = WorkQueue()
    q.add_slow("a")
    q.add_slow("b")
    q.add("b")
    assert len(q) == 2
    assert await q.get() == "b"
    assert await q.get() == "a"


async def test_get_blocks_until_add_and_workers_share() -> None:
    q = WorkQueue()
    got: list[str] = []

    async def worker() -> None:
        k = await q.get()
        got.append(k)
        q.done(k)

    tasks = [asyncio.create_task(worker()) for _ in range(2)]
    await asyncio.sleep(0.01)
    assert got == []
    q.add("x")
    q.add("y")
    await asyncio.wait_for(asyncio.gather(*tasks), 2)
    assert sorted(got) == ["x", "y"]


async def test_add_after_keeps_the_earliest_deadline() -> None:
    q = WorkQueue()
    q.add_after("k", 10.0)
    q.add_after("k", 0.02)
    q.add_after("k", 5.0)
    assert len(q) == 0
    assert await asyncio.wait_for(q.get(), 1.0) == "k"


def test_exponential_backoff_per_key_and_forget() -> None:
    lim = ExponentialRateLimiter(base=0.01, max_delay=0.05)
    assert [lim.when("a") for _ in range(5)] == [0.01, 0.02, 0.04, 0.05, 0.05]
    assert lim.when("b") == 0.01, "backoff is per key"
    assert lim.retries("a") == 5
    lim.forget("a")
    assert lim.retries("a") == 0 and lim.when("a") == 0.01


def test_bucket_rate_limits_bursts() -> None:
    now = [0.0]
    lim = BucketRateLimiter(qps=10, burst=3, clock=lambda: now[0])
    assert [lim.when("x") for _ in range(3)] == [0, 0, 0]
    assert lim.when("x") == pytest.approx(0.1)
    assert lim.when("x") == pytest.approx(0.2)
    now[0] = 10.0  # refilled
    assert lim.when("x") == 0


def test_max_of_limiters() -> None:
    lim = MaxOfRateLimiter(ExponentialRateLimiter(1.0, 100.0),
                           BucketRateLimiter(qps=1, burst=1, clock=lambda: 0.0))
    assert lim.when("k") == 1.0
    assert lim.when("k") == 2.0


async def test_add_rate_limited_backs_off_then_forget_resets() -> None:
    q = WorkQueue(rate_limiter=ExponentialRateLimiter(0.01, 1.0))
    assert q.add_rate_limited("k") == 0.01
    k = await asyncio.wait_for(q.get(), 1)
    q.done(k)
    assert q.add_rate_limited("k") == 0.02
    assert q.retries("k") == 2
    q.forget("k")
    assert q.retries("k") == 0


async def test_shutdown_releases_waiting_workers() -> None:
    q = WorkQueue()
    waiter = asyncio.create_task(q.get())
    await asyncio.sleep(0.01)
    await q.shutdown()
    with pytest.raises(ShutDown):
        await asyncio.wait_for(waiter, 1)
    q.add("ignored")
    assert len(q) == 0
