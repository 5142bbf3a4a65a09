"""Breaker concurrency under asyncio, both builds: FIFO wake-ups, cancellation at every point
of a wait, capacity moving up and down under load, and a seeded random stress run (on the
default loop and on uvloop) that checks the invariants after every step."""

from __future__ import annotations

import asyncio
import random
from types import ModuleType

import pytest
import uvloop

from knpy.runtime.hotpath.errors import QueueFullError
from tests.unit.hotpath.test_breaker import _twins, settle


@pytest.fixture(params=_twins())
def impl(request: pytest.FixtureRequest) -> ModuleType:
    return request.param


async def test_waiters_are_woken_in_fifo_order(impl: ModuleType) -> None:
    b = impl.Breaker(1000, 1, 0)
    order: list[int] = []

    async def worker(i: int) -> None:
        slot = await b.acquire()
        order.append(i)
        await asyncio.sleep(0)
        slot.release()

    tasks = [asyncio.ensure_future(worker(i)) for i in range(200)]
    await settle()
    assert (b.pending, b.inflight) == (200, 0)
    b.update_capacity(1)
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert order == list(range(200))
    assert (b.pending, b.inflight) == (0, 0)


async def test_capacity_up_wakes_exactly_the_room(impl: ModuleType) -> None:
    b = impl.Breaker(100, 10, 0)
    waiters = [asyncio.ensure_future(b.acquire()) for _ in range(50)]
    await settle()
    b.update_capacity(3)
    # Granted synchronously: the slots are counted before the waiters even run.
    assert (b.inflight, b.pending) == (3, 47)
    await settle()
    assert [w.done() for w in waiters[:4]] == [True, True, True, False]
    b.update_capacity(10)
    assert (b.inflight, b.pending) == (10, 40)
    await settle()
    slots = [w.result() for w in waiters[:10]]
    assert not any(w.done() for w in waiters[10:])
    # A free slot goes to the oldest waiter, never to a newcomer's reserve().
    slots[0].release()
    assert b.reserve() is None
    assert (b.inflight, b.pending) == (10, 39)
    for w in waiters[10:]:
        w.cancel()
    await settle()
    for s in slots:
        s.release()
    await settle()
    assert waiters[10].cancelled()  # it was granted slots[0], then cancelled: handed back
    assert (b.inflight, b.pending) == (0, 0)


async def test_capacity_down_holds_waiters_until_below(impl: ModuleType) -> None:
    b = impl.Breaker(100, 5, 5)
    holders = [b.reserve() for _ in range(5)]
    waiters = [asyncio.ensure_future(b.acquire()) for _ in range(10)]
    await settle()
    assert b.pending == 10
    b.update_capacity(2)
    for h in holders[:3]:
        h.release()
    await settle()
    assert (b.inflight, b.pending) == (2, 10)  # at the new capacity: nobody woken
    holders[3].release()
    await settle()
    assert (b.inflight, b.pending) == (2, 9)
    assert waiters[0].done() and not waiters[1].done()
    b.update_capacity(0)
    holders[4].release()
    waiters[0].result().release()
    await settle()
    assert (b.inflight, b.pending) == (0, 9)
    b.update_capacity(5)
    await settle()
    assert (b.inflight, b.pending) == (5, 4)
    assert [w.done() for w in waiters] == [True] * 6 + [False] * 4
    for w in waiters[6:]:
        w.cancel()
    for w in waiters[1:6]:
        w.result().release()
    await settle()
    assert (b.inflight, b.pending) == (0, 0)


async def test_cancelled_waiters_leave_no_trace(impl: ModuleType) -> None:
    b = impl.Breaker(100, 1, 1)
    holder = b.reserve()
    waiters = [asyncio.ensure_future(b.acquire()) for _ in range(20)]
    await settle()
    for w in waiters[::2]:
        w.cancel()
    await settle()
    assert (b.inflight, b.pending) == (1, 10)
    got: list[int] = []
    holder.release()
    for _ in range(10):
        await settle()
        idx = next(i for i, w in enumerate(waiters) if w.done() and not w.cancelled()
                   and i not in got)
        got.append(idx)
        waiters[idx].result().release()
    assert got == list(range(1, 20, 2))
    assert (b.inflight, b.pending) == (0, 0)


async def test_granted_then_cancelled_passes_the_slot_on(impl: ModuleType) -> None:
    b = impl.Breaker(10, 1, 1)
    holder = b.reserve()
    first = asyncio.ensure_future(b.acquire())
    second = asyncio.ensure_future(b.acquire())
    await settle()
    holder.release()  # the slot is handed to `first`, which has not resumed yet
    assert (b.inflight, b.pending) == (1, 1)
    first.cancel()  # ...and is cancelled before it can: the slot must not leak
    await settle()
    assert first.cancelled()
    assert second.done()
    assert (b.inflight, b.pending) == (1, 0)
    second.result().release()
    assert b.inflight == 0
    assert b.reserve() is not None


async def test_granted_then_cancelled_with_nobody_waiting(impl: ModuleType) -> None:
    b = impl.Breaker(10, 1, 1)
    holder = b.reserve()
    waiter = asyncio.ensure_future(b.acquire())
    await settle()
    holder.release()
    waiter.cancel()
    await settle()
    assert waiter.cancelled()
    assert (b.inflight, b.pending) == (0, 0)


async def test_timeouts_racing_releases_do_not_leak(impl: ModuleType) -> None:
    b = impl.Breaker(1000, 3, 3)
    outcomes = {"ok": 0, "timeout": 0}

    async def request(i: int) -> None:
        try:
            async with asyncio.timeout(0.001 * (i % 7)):
                slot = await b.acquire()
        except TimeoutError:
            outcomes["timeout"] += 1
            return
        outcomes["ok"] += 1
        await asyncio.sleep(0.001 * (i % 3))
        slot.release()

    await asyncio.wait_for(asyncio.gather(*(request(i) for i in range(300))), 10)
    assert outcomes["ok"] + outcomes["timeout"] == 300
    assert outcomes["ok"] >= 3
    assert (b.inflight, b.pending) == (0, 0)


async def test_rejection_changes_nothing(impl: ModuleType) -> None:
    b = impl.Breaker(3, 2, 2)
    holders = [await b.acquire() for _ in range(2)]
    waiters = [asyncio.ensure_future(b.acquire()) for _ in range(3)]
    await settle()
    for _ in range(5):
        with pytest.raises(QueueFullError):
            await b.acquire()
    assert (b.inflight, b.pending) == (2, 3)
    b.update_capacity(0)  # capacity does not enter the pending limit: still full
    with pytest.raises(QueueFullError):
        await b.acquire()
    b.update_capacity(2)
    for h in holders:
        h.release()
    await settle()
    assert (b.inflight, b.pending) == (2, 1)
    for w in waiters:
        w.cancel()
    await settle()
    for w in waiters[:2]:
        w.result().release()
    assert (b.inflight, b.pending) == (0, 0)


def test_abandoned_acquire_coroutine_does_not_leak(impl: ModuleType) -> None:
    """A suspended acquire that is closed (never resumed, e.g. garbage-collected) cleans up."""
    loop = asyncio.new_event_loop()
    try:
        asyncio.set_event_loop(loop)

        async def scenario() -> tuple[int, int]:
            b = impl.Breaker(10, 1, 1)
            holder = b.reserve()
            waiting = b.acquire()
            waiting.send(None)  # runs up to the wait and suspends
            assert b.pending == 1
            waiting.close()  # never granted: leaves the queue
            assert (b.inflight, b.pending) == (1, 0)
            granted = b.acquire()
            granted.send(None)
            holder.release()  # hands the slot to the suspended coroutine
            assert (b.inflight, b.pending) == (1, 0)
            granted.close()  # closed before resuming: the slot comes back
            return b.inflight, b.pending

        assert loop.run_until_complete(scenario()) == (0, 0)
    finally:
        asyncio.set_event_loop(None)
        loop.close()


async def test_infinite_breaker_cancel_and_release(impl: ModuleType) -> None:
    b = impl.InfiniteBreaker()
    waiters = [asyncio.ensure_future(b.acquire()) for _ in range(10)]
    await settle()
    for w in waiters[:5]:
        w.cancel()
    await settle()
    assert b.pending == 5
    b.update_capacity(1)
    waiters[5].cancel()  # granted, then cancelled before resuming
    await settle()
    assert (b.inflight, b.pending) == (4, 0)
    for w in waiters[6:]:
        w.result().release()
    assert b.inflight == 0


async def _stress(impl: ModuleType, seed: int) -> None:
    """Random clients, cancellations and capacity moves; invariants checked every step."""
    rnd = random.Random(seed)
    qd, mc = rnd.randint(1, 8), rnd.randint(0, 6)
    b = impl.Breaker(qd, mc, rnd.randint(0, mc))
    held = 0  # clients between a successful acquire and their release
    tasks: list[asyncio.Task[None]] = []

    async def client() -> None:
        nonlocal held
        try:
            slot = await b.acquire()
        except QueueFullError:
            return
        held += 1
        try:
            for _ in range(rnd.randint(0, 3)):
                await asyncio.sleep(0)
        finally:
            held -= 1
            slot.release()

    for _ in range(400):
        op = rnd.random()
        if op < 0.5:
            tasks.append(asyncio.ensure_future(client()))
        elif op < 0.6 and tasks:
            rnd.choice(tasks).cancel()
        elif op < 0.7:
            b.update_capacity(rnd.randint(0, mc))
        for _ in range(3):
            await asyncio.sleep(0)
        # Granted-but-not-yet-resumed waiters count as in flight too, hence >=.
        assert held <= b.inflight <= mc
        assert b.inflight + b.pending <= qd + mc
        assert b.pending == 0 or b.inflight >= b.capacity  # nobody waits beside a free slot
    b.update_capacity(mc)
    await settle(20)
    for t in tasks:
        t.cancel()
    await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 10)
    assert held == 0
    assert (b.inflight, b.pending) == (0, 0)


@pytest.mark.parametrize("seed", range(6))
async def test_random_stress(impl: ModuleType, seed: int) -> None:
    await _stress(impl, seed)


@pytest.mark.parametrize("seed", range(3))
def test_random_stress_on_uvloop(impl: ModuleType, seed: int) -> None:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(_stress(impl, seed))
