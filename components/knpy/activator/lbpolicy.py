"""Load-balancing policies (Knative's lb_policy.go), as plain function values.

A policy takes this activator's pods of one revision (sorted by address) and returns the
chosen pod with a slot already reserved on its breaker, or None when no pod has a free
slot. Choosing and reserving happen in one call with no `await`, so on one event loop
nothing can take the slot between the check and the reservation (Knative's throttler needs
locks and a retry loop for this).

Which policy a revision gets depends on its containerConcurrency (`for_concurrency`):
0 -> random choice of two (the less loaded wins), 1..3 -> first available,
> 3 -> round robin.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from knpy.activator.throttler import PodTracker
    from knpy.runtime.hotpath.breaker import Release

Policy = Callable[[Sequence["PodTracker"]], "tuple[PodTracker, Release] | None"]

_random = random.random


def random_choice_2(targets: Sequence[PodTracker]) -> tuple[PodTracker, Release] | None:
    """Two distinct pods at random; the one with fewer requests in flight (a coin toss on a
    tie). Meant for containerConcurrency 0, where every pod breaker is unlimited."""
    n = len(targets)
    if n == 0:
        return None
    if n == 1:
        pick = targets[0]
        slot = pick.breaker.reserve()
        return None if slot is None else (pick, slot)
    if n == 2:
        pick, alt = targets[0], targets[1]
    else:
        r1 = int(_random() * n)
        r2 = int(_random() * (n - 1))
        if r2 >= r1:
            r2 += 1  # a second index from the other n - 1
        pick, alt = targets[r1], targets[r2]
    wp, wa = pick.breaker.inflight, alt.breaker.inflight
    if wp > wa or (wp == wa and _random() < 0.5):
        pick, alt = alt, pick
    slot = pick.breaker.reserve()
    if slot is not None:
        return pick, slot
    slot = alt.breaker.reserve()  # only with finite breakers: try the other contestant
    return None if slot is None else (alt, slot)


def first_available(targets: Sequence[PodTracker]) -> tuple[PodTracker, Release] | None:
    """The first pod in address order with a free slot: packs small-CC pods tightly."""
    for t in targets:
        slot = t.breaker.reserve()
        if slot is not None:
            return t, slot
    return None


class RoundRobin:
    """Each pick starts at the pod after the previous pick and takes the first free one."""

    __slots__ = ("index",)

    def __init__(self) -> None:
        self.index = 0

    def __call__(self, targets: Sequence[PodTracker]) -> tuple[PodTracker, Release] | None:
        n = len(targets)
        if n == 0:
            return None
        start = self.index % n
        for i in range(n):
            j = (start + i) % n
            t = targets[j]
            slot = t.breaker.reserve()
            if slot is not None:
                self.index = j + 1
                return t, slot
        return None


def for_concurrency(container_concurrency: int) -> tuple[Policy, str]:
    """(policy, name) for a revision's containerConcurrency, as Knative picks it."""
    if container_concurrency == 0:
        return random_choice_2, "random-choice-2"
    if container_concurrency <= 3:
        return first_available, "first-available"
    return RoundRobin(), "round-robin"
