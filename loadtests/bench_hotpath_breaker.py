"""Breaker micro-benchmark: the compiled build against its pure twin, in the same run.

RESULT breaker_reserve_release_speedup         uncontended reserve()+release(), driven by a
    loop (`hotpath_drivers.breaker_reserve_release`) that is compiled against the compiled
    build, so it calls reserve/release at C level, the way compiled data-plane code calls
    it. The target figure (>= 10x).
RESULT breaker_reserve_release_pycall_speedup  the same pair called from a Python loop: each
    call pays Python's call and attribute overhead, which caps the ratio at a few x.
RESULT breaker_acquire_release_speedup         uncontended `await acquire()` + release(),
    driven by a coroutine in the drivers (asyncio's coroutine protocol included).
RESULT breaker_*_c_ns / *_py_ns                 the absolute costs behind each ratio.

Each figure is the best of several interleaved rounds (the machine is shared). No sockets.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import time
from collections.abc import Callable
from types import ModuleType

from knpy.runtime.hotpath import breaker_py
from loadtests import hotpath_drivers, hotpath_drivers_build

ROUNDS = 7
N_DRIVER = 400_000
N_PYCALL = 200_000
N_ASYNC = 100_000


def _load_compiled() -> tuple[ModuleType, ModuleType]:
    """The compiled breaker and the drivers compiled against it."""
    if os.environ.get("KNPY_NO_EXTENSIONS"):
        sys.exit("bench_hotpath_breaker: KNPY_NO_EXTENSIONS is set; nothing compiled to compare")
    drivers = hotpath_drivers_build.compiled()
    from knpy.runtime.hotpath import breaker_c

    return breaker_c, drivers


def _driver(mod: ModuleType, drivers: ModuleType) -> Callable[[], int]:
    b = mod.Breaker(10, 100, 100)
    return lambda: drivers.breaker_reserve_release(b, N_DRIVER)


def _pycall(mod: ModuleType, drivers: ModuleType) -> Callable[[], int]:
    b = mod.Breaker(10, 100, 100)

    def run() -> int:
        reserve = b.reserve
        for _ in range(N_PYCALL):
            reserve().release()
        return N_PYCALL

    return run


def _async(mod: ModuleType, drivers: ModuleType) -> Callable[[], int]:
    b = mod.Breaker(10, 100, 100)
    loop = asyncio.new_event_loop()
    return lambda: loop.run_until_complete(drivers.breaker_acquire_release(b, N_ASYNC))


def _best_ns(runs: dict[str, Callable[[], int]], counts: dict[str, int]) -> dict[str, float]:
    """Best (lowest) ns per operation over interleaved rounds."""
    best = {k: float("inf") for k in runs}
    gc.disable()
    try:
        for _ in range(ROUNDS):
            for key, fn in runs.items():
                t0 = time.perf_counter_ns()
                fn()
                dt = time.perf_counter_ns() - t0
                best[key] = min(best[key], dt / counts[key])
    finally:
        gc.enable()
    return best


def main() -> int:
    compiled, compiled_drivers = _load_compiled()
    cases = {
        "reserve_release": (_driver, N_DRIVER),
        "reserve_release_pycall": (_pycall, N_PYCALL),
        "acquire_release": (_async, N_ASYNC),
    }
    results: list[str] = []
    for name, (make, n) in cases.items():
        runs = {"py": make(breaker_py, hotpath_drivers), "c": make(compiled, compiled_drivers)}
        for fn in runs.values():  # warm up, and check both builds do the work
            assert fn() == n
        best = _best_ns(runs, {"py": n, "c": n})
        print(f"{name:26s} py {best['py']:8.1f} ns/op   c {best['c']:7.1f} ns/op", flush=True)
        results.append(f"RESULT breaker_{name}_speedup {best['py'] / best['c']:.1f} x")
        results.append(f"RESULT breaker_{name}_c_ns {best['c']:.1f} ns")
        results.append(f"RESULT breaker_{name}_py_ns {best['py']:.1f} ns")
    for line in results:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
