"""Subsetting vectors (Knative's assignSlice / pickIndices)."""

from __future__ import annotations

import pytest

from knpy.activator.subsetting import assign_slice, pick_indices, self_index


def pods(n: int) -> list[str]:
    return [f"10.0.0.{i:02d}:8012" for i in range(n)]


def test_20_pods_over_3_activators_gives_7_7_6_disjoint_and_complete() -> None:
    slices = [assign_slice(pods(20), i, 3) for i in range(3)]
    assert [len(s) for s in slices] == [7, 7, 6]
    flat = [p for s in slices for p in s]
    assert sorted(flat) == pods(20) and len(set(flat)) == 20
    # slice i of size 6, then remnants 18 and 19 to activators 0 and 1
    assert slices[0] == [*pods(20)[0:6], pods(20)[18]]
    assert slices[1] == [*pods(20)[6:12], pods(20)[19]]
    assert slices[2] == pods(20)[12:18]


@pytest.mark.parametrize(("n", "i", "a", "want"), [
    (20, 0, 3, (0, 6, 2)), (20, 2, 3, (12, 18, 2)), (9, 1, 3, (3, 6, 0)),
    (3, 4, 5, (1, 2, 0)), (3, 3, 5, (0, 1, 0)), (0, 0, 3, (0, 0, 0)),
])
def test_pick_indices(n: int, i: int, a: int, want: tuple[int, int, int]) -> None:
    assert pick_indices(n, i, a) == want


def test_more_activators_than_pods_takes_pod_i_mod_n() -> None:
    p = pods(3)
    assert [assign_slice(p, i, 5) for i in range(5)] == [[p[0]], [p[1]], [p[2]], [p[0]], [p[1]]]


def test_input_order_does_not_matter_and_result_is_sorted() -> None:
    p = pods(10)
    assert assign_slice(list(reversed(p)), 1, 3) == assign_slice(p, 1, 3)
    assert assign_slice(p[::-1], 0, 1) == p


def test_single_or_unknown_activator_takes_everything() -> None:
    p = pods(5)
    assert assign_slice(p, 0, 1) == p
    assert assign_slice(p, -1, 3) == p
    assert assign_slice([], 0, 3) == []


@pytest.mark.parametrize("n", range(1, 30))
@pytest.mark.parametrize("a", [1, 2, 3, 4, 7])
def test_every_pod_is_covered(n: int, a: int) -> None:
    p = pods(n)
    covered = {x for i in range(a) for x in assign_slice(p, i, a)}
    assert covered == set(p)
    sizes = [len(assign_slice(p, i, a)) for i in range(a)]
    if a <= n:
        assert sum(sizes) == n and max(sizes) - min(sizes) <= 1


def test_self_index_sorts_ips() -> None:
    assert self_index("10.0.0.2", ["10.0.0.3", "10.0.0.2", "10.0.0.1"]) == (1, 3)
    assert self_index("10.0.0.9", ["10.0.0.3", "10.0.0.2"]) == (-1, 2)
