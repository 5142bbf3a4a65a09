"""Subsetting: which pods of a revision this activator sends to (Knative's assignSlice).

Pure functions. Every activator sorts the same pod addresses and the same activator IPs, so
each computes its own slice without talking to the others: slice `i` of size n // a, and
the n % a remnant pods at the end go one each to activators 0..r-1 (20 pods over 3
activators: 7, 7, 6). With more activators than pods, activator i takes pod i % n.
"""

from __future__ import annotations

from collections.abc import Sequence


def pick_indices(num_pods: int, self_index: int, num_activators: int) -> tuple[int, int, int]:
    """(begin, end, remnants): this activator's slice [begin, end) of the sorted pods, and
    how many pods are left over at the end (Knative's pickIndices)."""
    if num_pods <= 0:
        return 0, 0, 0
    if num_activators > num_pods:
        begin = self_index % num_pods
        return begin, begin + 1, 0
    size = num_pods // num_activators
    begin = self_index * size
    return begin, begin + size, num_pods % num_activators


def assign_slice(pods: Sequence[str], self_index: int, num_activators: int) -> list[str]:
    """The pods (addresses) this activator owns, in sorted order.

    self_index < 0 (this activator is not among the known ones yet) or a single activator
    means all pods, as in Knative.
    """
    dests = sorted(pods)
    if num_activators <= 1 or self_index < 0 or not dests:
        return dests
    begin, end, remnants = pick_indices(len(dests), self_index, num_activators)
    mine = dests[begin:end]
    if remnants and self_index < remnants:
        mine.append(dests[len(dests) - remnants + self_index])
    return mine


def self_index(own_ip: str, activator_ips: Sequence[str]) -> tuple[int, int]:
    """(index of own_ip among the sorted activator IPs, how many there are); (-1, n) if
    own_ip is not listed yet."""
    ips = sorted(set(activator_ips))
    try:
        return ips.index(own_ip), len(ips)
    except ValueError:
        return -1, len(ips)
