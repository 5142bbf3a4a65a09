"""The multi-tenant ping scheduler: every PingSource's next firing time in one table, one
loop that sleeps until the earliest, sends what is due (each send its own task, so a slow
sink delays nobody), and computes the next time from the schedule.

Like robfig/cron (Knative), missed firings are not caught up: after a pause the next time
is the schedule's first one after now. The clock is injected, and `tick(now)` fires what
is due at `now`: unit tests drive the scheduler with a fake clock and no sleeping.

Replicas elect a leader (cluster mode): only the leader (`active`) sends; a standby keeps
the same table and advances it through the same ticks without sending, so on takeover it
fires each source at its next time, without a burst for what the old leader sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from knpy.apis.sources.v1 import PingSource
from knpy.runtime.config import cron
from knpy.sources.pingevent import ping_event
from knpy.sources.sender import Sender

__all__ = ["PingScheduler", "sink_of"]

log = logging.getLogger("knpy.sources.ping")

MAX_SLEEP = 5.0  # re-check at least this often (wall clock jumps, added sources)


def sink_of(src: PingSource) -> str | None:
    """Where its events go: status.sinkUri (set by the controller), else an absolute
    spec.sink.uri (standalone mode has no resolver for refs)."""
    if src.sink_uri:
        return src.sink_uri
    sink = src.sink
    if sink is not None and sink.ref is None and sink.uri and "://" in sink.uri:
        return sink.uri
    return None


@dataclass
class _Entry:
    source: PingSource
    schedule: cron.Schedule
    sink: str
    next: dt.datetime
    fingerprint: tuple


class PingScheduler:
    def __init__(self, sender: Sender,
                 now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> None:
        self.sender = sender
        self.now = now
        self.entries: dict[str, _Entry] = {}
        self.fired = 0
        self.active = True
        self._wake = asyncio.Event()
        self._sends: set[asyncio.Task] = set()

    # ------------------------------------------------------------------ table
    def upsert(self, raw: dict[str, Any]) -> bool:
        """Add or update a PingSource; False (and not scheduled) if it cannot fire."""
        src = PingSource(copy.deepcopy(raw))
        key = src.key
        sink = sink_of(src)
        if sink is None:
            self.remove(key)
            log.info("%s: no sink URI yet; not scheduled", key)
            return False
        try:
            sched = cron.parse(src.schedule, src.timezone or None)
        except cron.CronError as exc:
            self.remove(key)
            log.warning("%s: spec.schedule %r: %s; not scheduled", key, src.schedule, exc)
            return False
        fp = (src.schedule, src.timezone)
        old = self.entries.get(key)
        nxt = old.next if old is not None and old.fingerprint == fp else \
            sched.next_after(self.now())
        self.entries[key] = _Entry(src, sched, sink, nxt, fp)
        self._wake.set()
        return True

    def remove(self, key: str) -> None:
        if self.entries.pop(key, None) is not None:
            self._wake.set()

    def keys(self) -> list[str]:
        return sorted(self.entries)

    # ------------------------------------------------------------------ firing
    def tick(self, now: dt.datetime | None = None) -> list[asyncio.Task]:
        """Send every event due at `now`; returns the send tasks (tests await them).
        A standby (not active) advances the table without sending."""
        now = now or self.now()
        tasks = []
        for key, e in list(self.entries.items()):
            if e.next > now:
                continue
            if not self.active:
                e.next = e.schedule.next_after(max(now, e.next))
                continue
            event = ping_event(e.source, e.next)
            t = asyncio.create_task(self.sender.send(e.sink, event), name=f"ping-{key}")
            self._sends.add(t)
            t.add_done_callback(self._sends.discard)
            tasks.append(t)
            self.fired += 1
            e.next = e.schedule.next_after(max(now, e.next))
        return tasks

    def set_active(self, active: bool) -> None:
        log.info("ping scheduler %s", "active: sending" if active else "standby")
        self.active = active
        self._wake.set()

    def next_due(self) -> dt.datetime | None:
        return min((e.next for e in self.entries.values()), default=None)

    async def run(self) -> None:
        while True:
            self._wake.clear()
            self.tick()
            nxt = self.next_due()
            wait = MAX_SLEEP
            if nxt is not None:
                wait = min(MAX_SLEEP, max(0.0, (nxt - self.now()).total_seconds()))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait + 0.001):
                    await self._wake.wait()

    async def drain(self, within: float = 5.0) -> None:
        if self._sends:
            await asyncio.wait(set(self._sends), timeout=within)
