"""The one way a component runs as a process: `python -m knpy.<component>`.

Each `knpy/<component>/__main__.py` is `run(amain)`, where `amain(argv, stop)` is an
`async def` in `<component>/main.py` that parses its flags and environment, serves until
the `stop` event is set (SIGTERM or SIGINT), cleans up, and returns the exit status.
The runner picks uvloop when it is installed, and turns an `OSError` that escapes
(typically a port already in use) into one log line and status 1. A second signal while
`amain` is still cleaning up cancels it.

Stdlib only (uvloop is imported here, lazily): the queue-proxy's start-up pays for nothing
more.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any, NoReturn, TypeVar

__all__ = ["Main", "cancel_and_wait", "run", "run_until_stopped"]

log = logging.getLogger("knpy.runtime.process")

T = TypeVar("T")
Main = Callable[[list[str], asyncio.Event], Awaitable[int | None]]
SIGNALS = (signal.SIGTERM, signal.SIGINT)


async def _supervise(amain: Main, argv: list[str]) -> int | None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    task = asyncio.current_task()

    def on_signal() -> None:
        if stop.is_set() and task is not None:
            task.cancel()  # the second signal: stop waiting for a clean shutdown
        stop.set()

    for sig in SIGNALS:
        loop.add_signal_handler(sig, on_signal)
    try:
        return await amain(argv, stop)
    finally:
        for sig in SIGNALS:
            loop.remove_signal_handler(sig)


def _event_loop_runner() -> Callable[[Coroutine[Any, Any, int | None]], int | None]:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency; work without it
        return asyncio.run
    return uvloop.run


def run(amain: Main, argv: list[str] | None = None) -> NoReturn:
    """Run `amain(argv, stop)` on the event loop and exit with its status (None is 0)."""
    args = sys.argv[1:] if argv is None else argv
    try:
        status = _event_loop_runner()(_supervise(amain, args))
    except asyncio.CancelledError:
        status = 1
    except OSError as e:
        log.error("cannot serve: %s", e)
        status = 1
    sys.exit(status or 0)


async def run_until_stopped(coro: Coroutine[Any, Any, T], stop: asyncio.Event) -> T | None:
    """Run `coro` until it ends or `stop` is set, then cancel it and wait for its clean-up.

    For components whose shutdown is cancellation (their `finally:` blocks clean up); the
    result is None when stopped. Exceptions of `coro` propagate."""
    task = asyncio.ensure_future(coro)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        if not task.done():
            task.cancel()
    try:
        return await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise  # we are cancelled ourselves, not just the task we stopped
        if task.cancelled() and stop.is_set():
            return None
        raise


async def cancel_and_wait(tasks: Iterable[asyncio.Future[Any]]) -> None:
    """Cancel `tasks` (in the order given) and wait until every one has finished; their
    results and errors are dropped, as at shutdown."""
    pending = list(tasks)
    for t in pending:
        t.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
