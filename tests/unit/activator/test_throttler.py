"""The revision throttler: capacity maths, holding, FIFO hand-off, queue limit, cancels."""

from __future__ import annotations

import asyncio

import pytest

from knpy.activator.throttler import RevisionGone, RevisionThrottler
from knpy.runtime.proxy.address import split_address


def make(cc: int, n: int = 0, *, healthy: bool = True, depth: int = 10000) -> RevisionThrottler:
    rt = RevisionThrottler("ns/rev", cc, queue_depth=depth)
    dests = [f"10.0.0.{i + 1}:8012" for i in range(n)]
    rt.set_dests(dests)
    if healthy:
        for d in dests:
            rt.set_healthy(d, True)
    return rt


@pytest.mark.parametrize(("cc", "pods", "want"), [(0, 0, 0), (0, 3, -1), (1, 0, 0),
                                                  (1, 2, 2), (10, 3, 30)])
def test_capacity_is_cc_times_assigned_pods(cc: int, pods: int, want: int) -> None:
    assert make(cc, pods).capacity == want


def test_unprobed_pods_give_no_capacity() -> None:
    rt = make(2, 3, healthy=False)
    assert rt.capacity == 0 and rt.try_reserve() is None
    rt.set_healthy("10.0.0.2:8012", True)
    assert rt.capacity == 2


def test_capacity_follows_the_subset() -> None:
    rt = make(2, 20)
    caps = []
    for i in range(3):
        rt.set_activators(i, 3)
        caps.append(rt.capacity)
    assert caps == [14, 14, 12]


def test_cc_slots_are_exact() -> None:
    rt = make(3, 2)
    picks = [rt.try_reserve() for _ in range(6)]
    assert all(p is not None for p in picks)
    assert rt.try_reserve() is None
    assert sorted(t.breaker.inflight for t in rt.trackers.values()) == [3, 3]
    picks[0][1].release()
    assert rt.try_reserve() is not None


async def test_requests_wait_for_a_backend_then_go_in_order() -> None:
    rt = make(1)
    futs = [rt.enqueue() for _ in range(3)]
    assert rt.pending == 3 and not any(f.done() for f in futs)
    rt.set_dests(["10.0.0.1:8012"])
    assert not futs[0].done()  # known but not probed yet
    rt.set_healthy("10.0.0.1:8012", True)
    assert futs[0].done() and not futs[1].done()  # CC 1: one at a time
    assert rt.try_reserve() is None  # newcomers queue behind waiters
    futs[0].result()[1].release()
    rt.wake()
    assert futs[1].done() and not futs[2].done()
    futs[1].result()[1].release()
    rt.wake()
    assert futs[2].done() and rt.pending == 0


async def test_queue_depth_then_full() -> None:
    rt = make(1, depth=3)
    futs = [rt.enqueue() for _ in range(3)]
    assert all(f is not None for f in futs)
    assert rt.enqueue() is None  # the 4th: 503 in the handler
    rt.leave(futs[0])
    assert rt.pending == 2 and rt.enqueue() is not None


async def test_leave_after_grant_passes_the_slot_on() -> None:
    rt = make(1)
    a, b = rt.enqueue(), rt.enqueue()
    rt.set_dests(["10.0.0.1:8012"])
    rt.set_healthy("10.0.0.1:8012", True)
    assert a.done() and not b.done()
    rt.leave(a)  # granted, but its client went away
    assert b.done()
    assert next(iter(rt.trackers.values())).breaker.inflight == 1


async def test_cancelled_waiting_task_does_not_leak_pending() -> None:
    rt = make(1)

    async def waiter() -> None:
        fut = rt.enqueue()
        try:
            await fut
        except BaseException:
            rt.leave(fut)
            raise

    tasks = [asyncio.create_task(waiter()) for _ in range(5)]
    await asyncio.sleep(0)
    assert rt.pending == 5
    for t in tasks[:4]:
        t.cancel()
    await asyncio.gather(*tasks[:4], return_exceptions=True)
    assert rt.pending == 1
    rt.set_dests(["10.0.0.1:8012"])
    rt.set_healthy("10.0.0.1:8012", True)
    await tasks[4]
    assert rt.pending == 0


async def test_close_fails_waiters() -> None:
    rt = make(1)
    fut = rt.enqueue()
    rt.close()
    with pytest.raises(RevisionGone):
        await fut
    late = rt.enqueue()
    with pytest.raises(RevisionGone):
        await late


async def test_removed_pod_loses_assignment_but_inflight_finishes() -> None:
    rt = make(1, 2)
    pick = rt.try_reserve()
    rt.set_dests(["10.0.0.2:8012"])
    assert [t.dest for t in rt.assigned] == ["10.0.0.2:8012"]
    pick[1].release()  # releasing into the dropped pod's breaker is harmless


async def test_raising_cc_wakes_waiters() -> None:
    rt = make(1, 1)
    first = rt.try_reserve()
    fut = rt.enqueue()
    assert first is not None and not fut.done()
    rt.set_container_concurrency(5)
    assert fut.done() and rt.policy_name == "round-robin"


def test_bad_inputs_name_the_field() -> None:
    with pytest.raises(ValueError, match="containerConcurrency"):
        RevisionThrottler("a/b", -1)
    with pytest.raises(ValueError, match="backend address 'nope'"):
        make(0).set_dests(["nope"])
    assert split_address("[::1]:80") == ("::1", 80)
    with pytest.raises(ValueError):
        split_address("host:0")
