"""Random operation sequences against the throttler (requests arriving, finishing and
giving up; pods added, removed, probed healthy or not; subsets and CC changing), checking
its invariants after every step: per-pod in-flight never exceeds CC, waiters are granted
strictly in arrival order, `pending` counts exactly the live waiters, and nobody waits
while an assigned pod has a free slot (the one-step reserve and `wake` never leave
capacity idle)."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from knpy.activator.throttler import RevisionThrottler

PODS = [f"10.0.0.{i}:8012" for i in range(1, 5)]

ops = st.lists(st.one_of(
    st.tuples(st.just("arrive")),
    st.tuples(st.just("finish"), st.integers(0, 50)),
    st.tuples(st.just("leave"), st.integers(0, 50)),
    st.tuples(st.just("add"), st.sampled_from(PODS)),
    st.tuples(st.just("remove"), st.sampled_from(PODS)),
    st.tuples(st.just("healthy"), st.sampled_from(PODS), st.booleans()),
    st.tuples(st.just("activators"), st.integers(-1, 2), st.integers(1, 3)),
    st.tuples(st.just("cc"), st.sampled_from([0, 1, 2, 5])),
), max_size=60)


def run(cc: int, steps: list[tuple]) -> None:
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(_scenario(cc, steps))
    finally:
        loop.close()


async def _scenario(cc: int, steps: list[tuple]) -> None:
    rt = RevisionThrottler("ns/rev", cc, queue_depth=1000)
    dests: set[str] = set()
    holding: list = []  # (tracker, slot) of requests being served
    waiting: list = []  # futures in arrival order

    def collect() -> None:
        done = [f.done() for f in waiting]
        # FIFO: the granted waiters are always the oldest ones
        assert done == sorted(done, reverse=True), done
        while waiting and waiting[0].done():
            holding.append(waiting.pop(0).result())

    for step in steps:
        op = step[0]
        if op == "arrive":
            pick = rt.try_reserve()
            if pick is not None:
                assert not waiting  # the fast path never jumps the queue
                holding.append(pick)
            else:
                fut = rt.enqueue()
                assert fut is not None
                waiting.append(fut)
        elif op == "finish" and holding:
            _, slot = holding.pop(step[1] % len(holding))
            slot.release()
            if rt.pending:
                rt.wake()
        elif op == "leave" and waiting:
            fut = waiting.pop(step[1] % len(waiting))
            rt.leave(fut)
        elif op == "add":
            dests.add(step[1])
            rt.set_dests(dests)
        elif op == "remove":
            dests.discard(step[1])
            rt.set_dests(dests)
            # requests on a removed pod finish normally
        elif op == "healthy":
            rt.set_healthy(step[1], step[2])
        elif op == "activators":
            idx, count = step[1], step[2]
            rt.set_activators(min(idx, count - 1), count)
        elif op == "cc":
            rt.set_container_concurrency(step[1])  # fresh breakers; old slots drain away
        collect()
        # --- invariants
        cc = rt.cc
        assert rt.pending == len(waiting)
        if cc > 0:
            for t in rt.trackers.values():
                assert t.breaker.inflight <= cc
        if waiting:
            # nobody waits while an assigned pod could take a request
            assert all(t.breaker.inflight >= cc for t in rt.assigned) if cc > 0 \
                else not rt.assigned
    # everything still held can be given back, leaving the breakers empty
    for fut in waiting:
        rt.leave(fut)
    for _, slot in holding:
        slot.release()
    assert rt.pending == 0
    assert all(t.breaker.inflight == 0 for t in rt.trackers.values())


@settings(max_examples=150, deadline=None)
@given(cc=st.sampled_from([0, 1, 2, 5]), steps=ops)
def test_throttler_invariants(cc: int, steps: list[tuple]) -> None:
    run(cc, steps)
