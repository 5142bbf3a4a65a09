"""Poll until an observable state holds: the one way tests wait for something.

`eventually` (async) and `wait_until` (sync) call `cond` until it returns something truthy
and return that value, so a test can wait for an object and keep it. They fail with an
AssertionError naming `what` (plus `detail()`, e.g. diagnostics, and the last error that
`ignore` swallowed) after `within` seconds. Poll a state the system exposes (a metric, a
stats endpoint, a log line, a counter); never sleep and assume.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

__all__ = ["eventually", "wait_until"]

T = TypeVar("T")


class _Poll:
    """The clock and the last swallowed error of one wait (shared by both variants)."""

    def __init__(self, within: float, what: str, ignore: tuple[type[BaseException], ...],
                 detail: Callable[[], str] | None) -> None:
        self.deadline = time.monotonic() + within
        self.within, self.what, self.ignore, self.detail = within, what, ignore, detail
        self.last: BaseException | None = None

    @contextlib.contextmanager
    def attempt(self) -> Iterator[None]:
        try:
            yield
        except self.ignore as exc:
            self.last = exc

    def give_up_if_late(self) -> None:
        if time.monotonic() <= self.deadline:
            return
        msg = f"{self.what} not reached within {self.within}s"
        if self.last is not None:
            msg += f" (last error: {self.last!r})"
        if self.detail is not None:
            msg += "\n" + self.detail()
        raise AssertionError(msg)


async def eventually(cond: Callable[[], Any], within: float = 5.0, what: str = "condition",
                     *, every: float = 0.01, ignore: tuple[type[BaseException], ...] = (),
                     detail: Callable[[], str] | None = None) -> Any:
    """Poll cond() (plain or async) until it returns something truthy; return that."""
    poll = _Poll(within, what, ignore, detail)
    while True:
        with poll.attempt():
            got = cond()
            if inspect.isawaitable(got):
                got = await got
            if got:
                return got
        poll.give_up_if_late()
        await asyncio.sleep(every)


def wait_until(cond: Callable[[], T | None], within: float = 5.0, what: str = "condition",
               *, every: float = 0.05, ignore: tuple[type[BaseException], ...] = (),
               detail: Callable[[], str] | None = None) -> T:
    """Blocking twin of `eventually`, for synchronous tests and helpers."""
    poll = _Poll(within, what, ignore, detail)
    while True:
        with poll.attempt():
            got = cond()
            if got:
                return got
        poll.give_up_if_late()
        time.sleep(every)
