"""Breaker behaviour, run against both builds: Knative's breaker tests ported to asyncio.

Golden cases come from knative/serving pkg/queue/breaker_test.go (and the infinite breaker's
tests in pkg/activator/net/throttler_test.go). A Go goroutine calling `Maybe(ctx, thunk)`
becomes a task that acquires a slot and holds it until the test lets it finish.
"""

from __future__ import annotations

import asyncio
import importlib
import os
from types import ModuleType

import pytest

from knpy.runtime.hotpath import breaker, breaker_py
from knpy.runtime.hotpath.errors import QueueFullError


def _twins() -> list:
    params = [pytest.param(breaker_py, id="py")]
    try:
        compiled = importlib.import_module("knpy.runtime.hotpath.breaker_c")
    except ImportError:
        # test_compiled_loaded.py fails CI when the build is missing; don't fail twice here.
        params.append(pytest.param(None, id="c", marks=pytest.mark.skip("breaker_c not built")))
    else:
        params.append(pytest.param(compiled, id="c"))
    return params


@pytest.fixture(params=_twins())
def impl(request: pytest.FixtureRequest) -> ModuleType:
    """The breaker module under test: the pure twin, then the compiled build."""
    return request.param


async def settle(rounds: int = 5) -> None:
    """Let every ready task run until it blocks again."""
    for _ in range(rounds):
        await asyncio.sleep(0)


class Requestor:
    """Knative's `requestor` helper: each request holds its slot until released by the test."""

    def __init__(self, b: object) -> None:
        self.breaker = b
        self.accepted: asyncio.Queue[bool] = asyncio.Queue()
        self.barrier = asyncio.Semaphore(0)
        self.tasks: list[asyncio.Task[None]] = []

    async def _maybe(self) -> None:
        try:
            slot = await self.breaker.acquire()
        except (QueueFullError, asyncio.CancelledError):
            self.accepted.put_nowait(False)
            return
        try:
            await self.barrier.acquire()  # the "thunk": runs until the test lets it finish
        finally:
            slot.release()
        self.accepted.put_nowait(True)

    async def request(self) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(self._maybe())
        self.tasks.append(task)
        await settle()
        return task

    async def expect_failure(self) -> None:
        assert await asyncio.wait_for(self.accepted.get(), 2) is False

    async def process_successfully(self) -> None:
        self.barrier.release()
        assert await asyncio.wait_for(self.accepted.get(), 2) is True


# ---------------------------------------------------------------- construction


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((0, 1, 1), "queue_depth"),
        ((1, -1, 1), "max_concurrency"),
        ((1, 1, -1), "initial_capacity"),
        ((1, 5, 6), "initial_capacity"),
        ((-3, 1, 1), "queue_depth"),
        ((2**31, 1, 1), "queue_depth"),
        ((1, 2**31, 1), "max_concurrency"),
    ],
)
def test_invalid_constructor_names_the_parameter(
    impl: ModuleType, args: tuple[int, int, int], field: str
) -> None:
    with pytest.raises(ValueError, match=field):
        impl.Breaker(*args)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("1", 1, 1), "queue_depth"),
        ((1, 1.0, 1), "max_concurrency"),
        ((1, 1, None), "initial_capacity"),
        ((True, 1, 1), "queue_depth"),
    ],
)
def test_non_int_parameters_are_rejected(
    impl: ModuleType, args: tuple[object, object, object], field: str
) -> None:
    with pytest.raises(TypeError, match=field):
        impl.Breaker(*args)


def test_fresh_breaker_counts(impl: ModuleType) -> None:
    b = impl.Breaker(10, 5, 3)
    assert (b.inflight, b.pending, b.capacity) == (0, 0, 3)
    assert (b.queue_depth, b.max_concurrency) == (10, 5)


# ---------------------------------------------------------------- reserve


def test_reserve_overload(impl: ModuleType) -> None:
    b = impl.Breaker(1, 1, 1)
    r1 = b.reserve()
    assert r1 is not None
    assert b.reserve() is None
    r1.release()
    r2 = b.reserve()
    assert r2 is not None
    r2.release()
    assert b.inflight == 0


def test_release_is_idempotent(impl: ModuleType) -> None:
    b = impl.Breaker(1, 2, 2)
    r1, r2 = b.reserve(), b.reserve()
    assert b.inflight == 2
    r1.release()
    r1.release()
    assert b.inflight == 1
    assert r1.released and not r2.released
    r2.release()
    assert b.inflight == 0


def test_in_flight_and_pending(impl: ModuleType) -> None:
    # Knative's TestBreakerInFlight / TestBreakerPending; here `pending` counts only waiters.
    b = impl.Breaker(10, 5, 5)
    releases = []
    for i in range(5):
        r = b.reserve()
        assert r is not None
        releases.append(r)
        assert b.inflight == i + 1
    for _ in range(10):
        assert b.reserve() is None  # reserve never queues
    assert (b.inflight, b.pending) == (5, 0)
    releases[0].release()
    assert b.inflight == 4
    for r in releases:
        r.release()
    assert (b.inflight, b.pending) == (0, 0)


def test_update_capacity(impl: ModuleType) -> None:
    b = impl.Breaker(1, 1, 0)
    b.update_capacity(1)
    assert b.capacity == 1
    b.update_capacity(0)
    assert b.capacity == 0
    with pytest.raises(ValueError, match="capacity"):
        b.update_capacity(-2)
    with pytest.raises(ValueError, match="capacity"):
        b.update_capacity(2)  # above max_concurrency (Knative: ErrUpdateCapacity)
    with pytest.raises(TypeError, match="capacity"):
        b.update_capacity("1")
    assert b.capacity == 0


def test_capacity_can_grow_to_max(impl: ModuleType) -> None:
    b = impl.Breaker(10, 100, 5)
    b.update_capacity(10)
    assert b.capacity == 10
    b.update_capacity(100)
    assert b.capacity == 100
    slots = [b.reserve() for _ in range(100)]
    assert all(s is not None for s in slots) and b.reserve() is None


def test_lowering_capacity_keeps_holders(impl: ModuleType) -> None:
    b = impl.Breaker(1, 3, 3)
    slots = [b.reserve() for _ in range(3)]
    b.update_capacity(1)
    assert (b.inflight, b.capacity) == (3, 1)
    assert b.reserve() is None
    slots[0].release()
    slots[1].release()
    assert b.reserve() is None  # still one in flight == capacity
    slots[2].release()
    assert b.reserve() is not None


# ---------------------------------------------------------------- acquire (golden)


async def test_overload_mixed(impl: ModuleType) -> None:
    b = impl.Breaker(1, 1, 1)
    reqs = Requestor(b)
    await reqs.request()
    assert b.inflight == 1
    assert b.reserve() is None
    await reqs.process_successfully()
    slot = b.reserve()
    assert slot is not None
    slot.release()


async def test_overload(impl: ModuleType) -> None:
    b = impl.Breaker(1, 1, 1)  # one in flight + one queued
    reqs = Requestor(b)
    await reqs.request()
    await reqs.request()
    await reqs.request()  # overshoot by one
    await reqs.expect_failure()
    await reqs.process_successfully()
    await reqs.process_successfully()


async def test_queueing(impl: ModuleType) -> None:
    b = impl.Breaker(1, 1, 0)  # both requests fit the pending limit 1 + 1 while capacity is 0
    reqs = Requestor(b)
    await reqs.request()
    await reqs.request()
    assert (b.inflight, b.pending) == (0, 2)
    b.update_capacity(1)
    await reqs.process_successfully()
    await reqs.process_successfully()


async def test_no_overload(impl: ModuleType) -> None:
    b = impl.Breaker(1, 1, 1)
    reqs = Requestor(b)
    await reqs.request()
    await reqs.request()
    await reqs.process_successfully()
    await reqs.request()
    await reqs.process_successfully()
    await reqs.request()
    await reqs.process_successfully()
    await reqs.process_successfully()
    assert (b.inflight, b.pending) == (0, 0)


async def test_recover(impl: ModuleType) -> None:
    b = impl.Breaker(1, 1, 1)
    reqs = Requestor(b)
    for _ in range(4):
        await reqs.request()
    await reqs.expect_failure()
    await reqs.expect_failure()
    await reqs.process_successfully()
    await reqs.process_successfully()
    # Shedding stops once capacity opens up.
    await reqs.request()
    await reqs.request()
    await reqs.process_successfully()
    await reqs.process_successfully()


async def test_large_capacity_recover(impl: ModuleType) -> None:
    b = impl.Breaker(5, 45, 45)  # 45 in flight + 5 queued
    reqs = Requestor(b)
    for _ in range(100):
        await reqs.request()
    for _ in range(50):  # the second 50 are shed
        await reqs.expect_failure()
    assert (b.inflight, b.pending) == (45, 5)
    for _ in range(50):  # finish one, send one: all accepted
        await reqs.process_successfully()
        await reqs.request()
    for _ in range(50):
        await reqs.process_successfully()
    assert (b.inflight, b.pending) == (0, 0)


async def test_cancel(impl: ModuleType) -> None:
    b = impl.Breaker(1, 1, 0)
    reqs = Requestor(b)
    # Cancel a request that cannot get capacity, twice (Knative once leaked a pending slot).
    for _ in range(2):
        task = await reqs.request()
        task.cancel()
        await reqs.expect_failure()
    assert (b.inflight, b.pending) == (0, 0)

    b.update_capacity(1)
    await reqs.request()
    # Exceed capacity: exactly one failure, so the breaker is consistently full.
    await reqs.request()
    await reqs.request()
    await reqs.expect_failure()
    # A request that cannot get capacity, then cancelled: it was already rejected at once
    # (queue full: 1 in flight + 1 waiting), so the cancel changes nothing.
    task = await reqs.request()
    task.cancel()
    await reqs.expect_failure()
    # The earlier ones go through.
    await reqs.process_successfully()
    await reqs.process_successfully()
    assert (b.inflight, b.pending) == (0, 0)


async def test_timeout(impl: ModuleType) -> None:
    # Knative's old TestBreaker_Timeout: want [false, true, false].
    b = impl.Breaker(1, 1, 0)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            await b.acquire()
    b.update_capacity(1)
    slot = await asyncio.wait_for(b.acquire(), 1)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            await b.acquire()
    assert (b.inflight, b.pending) == (1, 0)
    slot.release()
    assert b.inflight == 0


async def test_queue_full_is_immediate(impl: ModuleType) -> None:
    b = impl.Breaker(2, 1, 1)  # pending limit 3
    first = await b.acquire()
    waiters = [asyncio.ensure_future(b.acquire()) for _ in range(2)]
    await settle()
    assert b.pending == 2
    with pytest.raises(QueueFullError, match="pending request queue full"):
        await b.acquire()  # raises without ever yielding to the loop
    first.release()
    await settle()
    slot = waiters[0].result()
    assert not waiters[1].done()
    slot.release()
    await settle()
    waiters[1].result().release()
    assert (b.inflight, b.pending) == (0, 0)


async def test_queue_full_error_is_the_shared_class(impl: ModuleType) -> None:
    b = impl.Breaker(1, 1, 0)
    waiter = asyncio.ensure_future(b.acquire())
    await settle()
    other = asyncio.ensure_future(b.acquire())
    await settle()
    with pytest.raises(breaker.QueueFullError):
        await b.acquire()
    for t in (waiter, other):
        t.cancel()
    await settle()
    assert b.pending == 0


# ---------------------------------------------------------------- infinite breaker


def test_infinite_breaker_capacity(impl: ModuleType) -> None:
    b = impl.InfiniteBreaker()
    assert (b.capacity, b.inflight, b.pending) == (0, 0, 0)
    b.update_capacity(1)
    assert b.capacity == 1
    b.update_capacity(0)
    assert b.capacity == 0
    b.update_capacity(10)
    assert b.capacity == 1  # 1 means unlimited, as in Knative
    b.update_capacity(0)
    assert b.capacity == 0
    with pytest.raises(ValueError, match="capacity"):
        b.update_capacity(-1)
    with pytest.raises(TypeError, match="capacity"):
        b.update_capacity(1.5)


def test_infinite_breaker_reserve(impl: ModuleType) -> None:
    b = impl.InfiniteBreaker()
    assert b.reserve() is None  # closed
    b.update_capacity(5)
    slots = [b.reserve() for _ in range(1000)]  # no limit once open
    assert all(s is not None for s in slots)
    assert b.inflight == 1000
    for s in slots:
        s.release()
        s.release()
    assert b.inflight == 0


async def test_infinite_breaker_waits_until_open(impl: ModuleType) -> None:
    b = impl.InfiniteBreaker()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            await b.acquire()
    assert b.pending == 0
    waiters = [asyncio.ensure_future(b.acquire()) for _ in range(50)]
    await settle()
    assert (b.pending, b.inflight) == (50, 0)
    b.update_capacity(1)  # scale up: everyone goes
    assert (b.pending, b.inflight) == (0, 50)
    slots = await asyncio.wait_for(asyncio.gather(*waiters), 2)
    now = await asyncio.wait_for(b.acquire(), 1)  # open: no wait
    for s in [*slots, now]:
        s.release()
    assert b.inflight == 0
    b.update_capacity(0)  # scaled to zero again: new requests wait
    late = asyncio.ensure_future(b.acquire())
    await settle()
    assert not late.done() and b.pending == 1
    late.cancel()
    await settle()
    assert b.pending == 0


# ---------------------------------------------------------------- public module


def test_public_module_exports_one_build() -> None:
    impl = breaker.Breaker.__module__
    want = "breaker_py" if os.environ.get("KNPY_NO_EXTENSIONS") else "breaker_c"
    assert impl.rsplit(".", 1)[-1] == want == (
        "breaker_c" if breaker.COMPILED else "breaker_py"
    )
    assert breaker.Release.__module__ == breaker.InfiniteBreaker.__module__ == impl
    assert breaker.MAX_BREAKER_CAPACITY == 2**31 - 1


def test_release_handles_cannot_be_made_by_hand(impl: ModuleType) -> None:
    with pytest.raises(TypeError, match="reserve"):
        impl.Release()
