"""Differential property tests: the compiled build and the pure twin, fed the same random
operation sequences, must show identical observable behaviour at every step.

Both builds come from one source, so what could differ is C-level behaviour: integer types,
argument conversion, exception paths, and the order asyncio resumes compiled coroutines in.
Each sequence runs on a fresh event loop per build; the traces (counts after every operation,
what each call returned or raised, the state of every acquiring task) must be equal.
"""

from __future__ import annotations

import asyncio
import importlib
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from knpy.runtime.hotpath import breaker_py

try:
    breaker_c: ModuleType | None = importlib.import_module("knpy.runtime.hotpath.breaker_c")
except ImportError:  # test_compiled_loaded.py reports the missing build
    breaker_c = None

pytestmark = pytest.mark.skipif(breaker_c is None, reason="breaker_c not built")

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

_RESERVE = st.tuples(st.just("reserve"))
_ACQUIRE = st.tuples(st.just("acquire"))
_RELEASE = st.tuples(st.just("release"), st.integers(0, 15))
_RELEASE_ACQUIRED = st.tuples(st.just("release_acquired"), st.integers(0, 15))
_CANCEL = st.tuples(st.just("cancel"), st.integers(0, 15))
_UPDATE = st.tuples(st.just("update"), st.integers(-1, 6))
_STEP = st.tuples(st.just("step"), st.integers(1, 3))
# one_of picks a branch uniformly: repeats weight the operations that build up queues.
OPS = st.one_of(
    _RESERVE, _RESERVE, _ACQUIRE, _ACQUIRE, _ACQUIRE, _RELEASE, _RELEASE_ACQUIRED,
    _RELEASE_ACQUIRED, _CANCEL, _UPDATE, _STEP, _STEP,
)


def _outcome(fn: Any, *args: Any) -> tuple[str, Any]:
    try:
        return ("ok", fn(*args))
    except Exception as e:  # the comparison is the point: type and message must match
        return (type(e).__name__, str(e))


def _task_state(t: asyncio.Task[Any]) -> str:
    if not t.done():
        return "waiting"
    if t.cancelled():
        return "cancelled"
    if t.exception() is not None:
        return type(t.exception()).__name__
    return "released" if t.result().released else "granted"


def run_trace(make: Any, ops: list[tuple]) -> list[tuple]:
    """Apply `ops` to a breaker built by `make()`; return what was observable after each."""

    async def scenario() -> list[tuple]:
        b = make()
        held: list[Any] = []
        tasks: list[asyncio.Task[Any]] = []
        trace: list[tuple] = []
        for op in ops:
            kind = op[0]
            if kind == "reserve":
                r = b.reserve()
                if r is not None:
                    held.append(r)
                got: Any = r is not None
            elif kind == "acquire":
                tasks.append(asyncio.ensure_future(b.acquire()))
                got = len(tasks)
            elif kind == "release":
                got = None
                if held:
                    slot = held[op[1] % len(held)]
                    slot.release()
                    got = slot.released
            elif kind == "release_acquired":
                done = [t for t in tasks if t.done() and not t.cancelled()
                        and t.exception() is None]
                got = None
                if done:
                    done[op[1] % len(done)].result().release()
                    got = True
            elif kind == "cancel":
                got = tasks[op[1] % len(tasks)].cancel() if tasks else None
            elif kind == "update":
                got = _outcome(b.update_capacity, op[1])
            else:
                for _ in range(op[1]):
                    await asyncio.sleep(0)
                got = None
            trace.append((op, got, b.inflight, b.pending, b.capacity,
                          tuple(_task_state(t) for t in tasks)))
        # Wind down: everything released or cancelled must leave the breaker empty.
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for t in tasks:
            if not t.cancelled() and t.exception() is None:
                t.result().release()
        for r in held:
            r.release()
        trace.append(("end", b.inflight, b.pending))
        assert (b.inflight, b.pending) == (0, 0)
        return trace

    return asyncio.run(scenario())


@SETTINGS
@given(
    qd=st.integers(1, 6),
    mc=st.integers(0, 5),
    ic_frac=st.floats(0, 1),
    ops=st.lists(OPS, min_size=15, max_size=80),
)
def test_breaker_twins_agree(qd: int, mc: int, ic_frac: float, ops: list[tuple]) -> None:
    ic = int(mc * ic_frac)
    pure = run_trace(lambda: breaker_py.Breaker(qd, mc, ic), ops)
    compiled = run_trace(lambda: breaker_c.Breaker(qd, mc, ic), ops)
    assert compiled == pure
    # Knative's invariants hold along the way (checked on the reference trace).
    for step in pure[:-1]:
        _op, _got, inflight, pending, _cap, _tasks = step
        assert 0 <= inflight <= mc
        assert inflight + pending <= qd + mc


@SETTINGS
@given(ops=st.lists(OPS, min_size=15, max_size=80))
def test_infinite_breaker_twins_agree(ops: list[tuple]) -> None:
    pure = run_trace(breaker_py.InfiniteBreaker, ops)
    compiled = run_trace(breaker_c.InfiniteBreaker, ops)
    assert compiled == pure


VALUES = st.one_of(
    st.integers(-3, 8),
    st.sampled_from([2**31 - 1, 2**31, 2**63, -(2**63) - 1, True, 1.0, "1", None]),
)


@SETTINGS
@given(qd=VALUES, mc=VALUES, ic=VALUES)
def test_constructor_twins_agree(qd: Any, mc: Any, ic: Any) -> None:
    def make(mod: ModuleType) -> tuple:
        got = _outcome(mod.Breaker, qd, mc, ic)
        if got[0] != "ok":
            return got
        b = got[1]
        return ("ok", b.queue_depth, b.max_concurrency, b.capacity, b.inflight, b.pending)

    assert make(breaker_c) == make(breaker_py)


@SETTINGS
@given(cap=VALUES)
def test_update_capacity_twins_agree(cap: Any) -> None:
    def run(mod: ModuleType) -> tuple:
        b, ib = mod.Breaker(1, 5, 2), mod.InfiniteBreaker()
        return (_outcome(b.update_capacity, cap), b.capacity,
                _outcome(ib.update_capacity, cap), ib.capacity)

    assert run(breaker_c) == run(breaker_py)
