"""LB policies pick a pod and reserve its slot in one call."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from knpy.activator import lbpolicy
from knpy.activator.throttler import RevisionThrottler


def trackers(cc: int, n: int) -> list:
    rt = RevisionThrottler("ns/rev", cc)
    rt.set_dests([f"127.0.0.{i + 1}:8012" for i in range(n)])
    return sorted(rt.trackers.values(), key=lambda t: t.dest)


@pytest.mark.parametrize(("cc", "name"), [(0, "random-choice-2"), (1, "first-available"),
                                          (3, "first-available"), (4, "round-robin"),
                                          (100, "round-robin")])
def test_policy_by_container_concurrency(cc: int, name: str) -> None:
    assert lbpolicy.for_concurrency(cc)[1] == name


def test_empty_targets_give_none() -> None:
    for policy in (lbpolicy.random_choice_2, lbpolicy.first_available, lbpolicy.RoundRobin()):
        assert policy([]) is None


def test_first_available_fills_pods_in_order() -> None:
    ts = trackers(2, 3)
    picks = [lbpolicy.first_available(ts) for _ in range(6)]
    assert [p[0].dest for p in picks] == [ts[0].dest] * 2 + [ts[1].dest] * 2 + [ts[2].dest] * 2
    assert lbpolicy.first_available(ts) is None  # every slot taken
    picks[3][1].release()  # a slot on pod 1 frees up
    again = lbpolicy.first_available(ts)
    assert again is not None and again[0] is ts[1]


def test_round_robin_rotates_and_skips_full_pods() -> None:
    ts = trackers(4, 3)
    rr = lbpolicy.RoundRobin()
    assert [rr(ts)[0].dest for _ in range(6)] == [t.dest for t in ts] * 2
    while ts[1].breaker.reserve() is not None:  # fill pod 1
        pass
    seq = [rr(ts)[0] for _ in range(4)]
    assert ts[1] not in seq and set(seq) == {ts[0], ts[2]}


def test_random_choice_2_prefers_the_less_loaded() -> None:
    ts = trackers(0, 2)
    held = [ts[0].breaker.reserve() for _ in range(5)]
    assert all(h is not None for h in held)
    for _ in range(20):
        pick = lbpolicy.random_choice_2(ts)
        assert pick is not None and pick[0] is ts[1]
        pick[1].release()


def test_random_choice_2_spreads_load_over_many_pods() -> None:
    random.seed(7)
    ts = trackers(0, 5)
    slots = [lbpolicy.random_choice_2(ts) for _ in range(500)]
    counts = Counter(p[0].dest for p in slots)
    assert len(counts) == 5
    # least-loaded of two keeps in-flight counts very even
    assert max(t.breaker.inflight for t in ts) - min(t.breaker.inflight for t in ts) <= 2
    for _, slot in slots:
        slot.release()
    assert all(t.breaker.inflight == 0 for t in ts)


def test_random_choice_2_single_pod() -> None:
    ts = trackers(0, 1)
    pick = lbpolicy.random_choice_2(ts)
    assert pick is not None and pick[0] is ts[0] and ts[0].breaker.inflight == 1
