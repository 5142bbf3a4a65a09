"""Poll until an observable state holds: the one way tests wait for something.

`eventually` (async) and `wait_until` (sync) call `cond` until it returns something truthy
and return that value, so a test can wait for an object and keep it. They fail with an
AssertionError naming `what` (plus `detail()`, e.g. diagnostics, and the last error that
`ignore` swallowed) after `within` seconds. Poll a state the system exposes (a metric, a
stats endpoint, a log line, a counter); never sleep and assume.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["eventually", "wait_until"]

T = TypeVar("T")


def _failure(what: str, within: float, last: BaseException | None,
             detail: Callable[[], str] | None) -> AssertionError:
    msg = f"{what} not reached within {within}s"
    if last is not None:
        msg += f" (last error: {last!r})"
    if detail is not None:
        msg += "\n" + detail()
    return AssertionError(msg)


async def eventually(cond: Callable[[], Any], within: float = 5.0, what: str = "condition",
                     *, every: float = 0.01, ignore: tuple[type[BaseException], ...] = (),
                     detail: Callable[[], str] | None = None) -> Any:
    """Poll cond() (plain or async) until it returns something truthy; return that."""
    deadline = time.monotonic() + within
    last: BaseException | None = None
    while True:
        try:
            got = cond()
            if inspect.isawaitable(got):
                got = await got
            if got:
                return got
        except ignore as exc:
            last = exc
        if time.monotonic() > deadline:
            raise _failure(what, within, last, detail)
        await asyncio.sleep(every)


def wait_until(cond: Callable[[], T | None], within: float = 5.0, what: str = "condition",
               *, every: float = 0.05, ignore: tuple[type[BaseException], ...] = (),
               detail: Callable[[], str] | None = None) -> T:
    """Blocking twin of `eventually`, for synchronous tests and helpers."""
    deadline = time.monotonic() + within
    last: BaseException | None = None
    while True:
        try:
            got = cond()
            if got:
                return got
        except ignore as exc:
            last = exc
        if time.monotonic() > deadline:
            raise _failure(what, within, last, detail)
        time.sleep(every)
