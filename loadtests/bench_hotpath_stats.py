"""Micro-benchmarks: compiled vs pure windowed aggregation and request stats, same run.

Each hot operation is timed two ways, both builds each way, interleaved, best of several
rounds (the machine is shared and noisy; the minimum is the least disturbed run):

- `<op>_speedup`: the loop runs inside a driver function (`hotpath_drivers.record_average`,
  `hotpath_drivers.in_out`) compiled against the compiled build, so it calls the hot
  methods as C functions, the way compiled data-plane code would. The pure build runs the
  same driver as Python.
- `<op>_pycall_speedup`: the loop is plain Python calling the public methods, so each call
  pays the Python call overhead in both builds. This is what today's Python callers
  (autoscaler, queue-proxy, activator) get.

Hot operations: record + window average over a 60 s window, once per simulated second
(the autoscaler's pattern), for the linear and the weighted average; request_in +
request_out around one request (the proxy's pattern).
Prints `RESULT <name> <value> x` lines; runs in a few seconds.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from types import ModuleType

if os.environ.get("KNPY_NO_EXTENSIONS"):
    print("KNPY_NO_EXTENSIONS is set: nothing compiled to compare", file=sys.stderr)
    sys.exit(2)

from knpy.runtime.hotpath import reqstats_py, windowed_py
from loadtests import hotpath_drivers, hotpath_drivers_build

compiled_drivers = hotpath_drivers_build.compiled()
from knpy.runtime.hotpath import reqstats_c, windowed_c  # noqa: E402  (built, checked above)

WINDOW_S = 60.0
T0 = 10_000.0
ROUNDS = 7
MIN_TRIAL_S = 0.02

# A trial takes an op count and returns (seconds taken, a checksum of the results).
Trial = Callable[[int], tuple[float, float]]


def filled(mod: object, cls: str) -> object:
    """Buckets with a full 60 s window of data, as in steady state."""
    b = getattr(mod, cls)(WINDOW_S)
    for i in range(int(WINDOW_S)):
        b.record(T0 + i, 5.0 + (i & 7))
    return b


def windowed_driver(mod: object, cls: str, drivers: ModuleType) -> Trial:
    def trial(n: int) -> tuple[float, float]:
        b = filled(mod, cls)
        t = time.perf_counter()
        acc = drivers.record_average(b, T0 + WINDOW_S, n, 3.0)
        return time.perf_counter() - t, acc

    return trial


def windowed_pycall(mod: object, cls: str) -> Trial:
    def trial(n: int) -> tuple[float, float]:
        b = filled(mod, cls)
        record, average = b.record, b.window_average  # type: ignore[attr-defined]
        start = T0 + WINDOW_S
        acc = 0.0
        t = time.perf_counter()
        for i in range(n):  # the same work as record_average, called from Python
            now = start + i
            record(now, 3.0 + (i & 7))
            acc += average(now)
        return time.perf_counter() - t, acc

    return trial


def reqstats_driver(mod: object, drivers: ModuleType) -> Trial:
    def trial(n: int) -> tuple[float, float]:
        s = mod.RequestStats(0.0)  # type: ignore[attr-defined]
        t = time.perf_counter()
        drivers.in_out(s, 0.0, n, 0.001)
        took = time.perf_counter() - t
        return took, sum(s.report(n * 0.001))

    return trial


def reqstats_pycall(mod: object) -> Trial:
    def trial(n: int) -> tuple[float, float]:
        s = mod.RequestStats(0.0)  # type: ignore[attr-defined]
        request_in, request_out = s.request_in, s.request_out
        t = time.perf_counter()
        for i in range(n):  # the same work as in_out, called from Python
            now = i * 0.001
            request_in(now, False)
            request_out(now + 0.0005, False)
        took = time.perf_counter() - t
        return took, sum(s.report(n * 0.001))

    return trial


def calibrate(trial: Trial) -> int:
    n = 16
    while True:
        took, _ = trial(n)
        if took >= MIN_TRIAL_S or n >= 1 << 24:
            return n
        n *= 2 if took > MIN_TRIAL_S / 4 else 8


def compare(name: str, pure: Trial, compiled: Trial) -> float:
    n_pure, n_compiled = calibrate(pure), calibrate(compiled)
    best_pure = best_compiled = float("inf")
    for _ in range(ROUNDS):
        took, _ = pure(n_pure)
        best_pure = min(best_pure, took / n_pure)
        took, _ = compiled(n_compiled)
        best_compiled = min(best_compiled, took / n_compiled)
    # Same work, same answers: the same op count must give bit-identical checksums.
    if pure(64)[1] != compiled(64)[1]:
        raise SystemExit(f"{name}: the builds disagree")
    ratio = best_pure / best_compiled
    print(f"# {name}: pure {best_pure * 1e9:.0f} ns/op, compiled {best_compiled * 1e9:.1f} ns/op")
    return ratio


def main() -> int:
    results: list[tuple[str, float]] = []
    for op, cls in (("windowed_record_average", "TimedBuckets"),
                    ("windowed_weighted_record_average", "WeightedBuckets")):
        results.append((f"{op}_speedup", compare(
            op, windowed_driver(windowed_py, cls, hotpath_drivers),
            windowed_driver(windowed_c, cls, compiled_drivers))))
        results.append((f"{op}_pycall_speedup", compare(
            f"{op} (python calls)", windowed_pycall(windowed_py, cls),
            windowed_pycall(windowed_c, cls))))
    results.append(("reqstats_in_out_speedup", compare(
        "reqstats_in_out", reqstats_driver(reqstats_py, hotpath_drivers),
        reqstats_driver(reqstats_c, compiled_drivers))))
    results.append(("reqstats_in_out_pycall_speedup", compare(
        "reqstats_in_out (python calls)", reqstats_pycall(reqstats_py),
        reqstats_pycall(reqstats_c))))
    for name, value in results:
        print(f"RESULT {name} {value:.1f} x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
