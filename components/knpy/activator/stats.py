"""Per-revision stats for the autoscaler: concurrency and request count, once a second.

Knative's activator ConcurrencyReporter, over the shared RequestStats hot path:

- every request the activator handles is counted for its revision (request_in/out);
- the first request of a revision that had no entry is reported AT ONCE, as a Stat with
  concurrency 1 and one request: the revision may be at zero, and this "poke" makes the
  autoscaler decide now instead of at its next tick. The poke carries that request's
  `traceparent`/`tracestate` as forwarded (with tracing on, the activator's span), so the
  autoscaler's poke and scale spans join the request's trace;
- once a second every active revision's Stat (time-weighted average concurrency, request
  count per second, pod_name = this activator) is sent as one WireStatMessages frame; a
  revision with nothing in flight and no requests in that second is then dropped, so its
  next request pokes again.

Frames go to the autoscaler over a websocket (`ws://autoscaler:8080/`), reconnected with
backoff; while it is down, at most `max_backlog` frames wait (the oldest are dropped), so
the poke for a revision at zero still arrives once the autoscaler is reachable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

import aiohttp

from knpy.activator.throttler import RevisionThrottler
from knpy.runtime.contract.stat import Stat
from knpy.runtime.contract.wirestat import WireStatMessage, encode_wire_stats
from knpy.runtime.hotpath.reqstats import RequestStats

log = logging.getLogger("knpy.activator.stats")

REPORT_PERIOD = 1.0


class Headers(Protocol):
    """What the poke reads of the request behind it (a proxy-core `Exchange`)."""

    def header(self, name: bytes) -> bytes | None: ...


class ConcurrencyReporter:
    """Counts requests per revision and produces the frames the autoscaler reads."""

    def __init__(self, pod_name: str, send: Callable[[bytes], None],
                 clock: Callable[[], float]) -> None:
        self.pod_name = pod_name
        self.send = send
        self.clock = clock
        self.active: dict[str, RevisionThrottler] = {}

    def request_in(self, rt: RevisionThrottler, now: float, req: Headers | None = None) -> None:
        """Count a request; `req`'s trace context goes with a poke (read only then)."""
        st = rt.stats
        if st is None:
            st = rt.stats = RequestStats(now)
            rt.stats_poked = True
            self.active[rt.key] = rt
            self.send(self._frame([(rt, 1.0, 1.0)], req))
        st.request_in(now, False)

    def request_out(self, rt: RevisionThrottler, now: float) -> None:
        st = rt.stats
        if st is not None:
            st.request_out(now, False)

    def report(self, now: float) -> bytes | None:
        """The frame for the second that just ended (None if no revision is active)."""
        if not self.active:
            return None
        rows = []
        for key, rt in list(self.active.items()):
            st = rt.stats
            assert st is not None  # active revisions have stats
            avg, _, count, _ = st.report(now)
            if rt.stats_poked:
                # The first request was already reported by the poke.
                rt.stats_poked = False
                count = max(0.0, count - 1.0)
            rows.append((rt, avg, count / REPORT_PERIOD))
            if st.concurrency == 0 and count == 0:
                rt.stats = None
                del self.active[key]
        return self._frame(rows)

    def forget(self, rt: RevisionThrottler) -> None:
        self.active.pop(rt.key, None)

    def _frame(self, rows: list[tuple[RevisionThrottler, float, float]],
               req: Headers | None = None) -> bytes:
        ts = int(time.time())
        msgs = []
        for rt, avg, count in rows:
            ns, _, name = rt.key.partition("/")
            msgs.append(WireStatMessage(ns, name, Stat(
                pod_name=self.pod_name, average_concurrent_requests=avg,
                request_count=count, timestamp=ts)))
        if req is not None:
            parent = req.header(b"traceparent")
            if parent is not None:
                msgs[0].traceparent = parent.decode("latin-1")
                state = req.header(b"tracestate")
                if state is not None:
                    msgs[0].tracestate = state.decode("latin-1")
        return encode_wire_stats(msgs)

    async def run(self) -> None:
        """Report once a second, forever."""
        while True:
            await asyncio.sleep(REPORT_PERIOD)
            frame = self.report(self.clock())
            if frame is not None:
                self.send(frame)


class StatSink:
    """A websocket to the autoscaler, reconnected with backoff; `send` never blocks."""

    def __init__(self, url: str, max_backlog: int = 64) -> None:
        self.url = url
        self.frames: deque[bytes] = deque(maxlen=max_backlog)
        self.sent = 0
        self.connected = False
        self._event = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def send(self, frame: bytes) -> None:
        if not self.url:
            return
        self.frames.append(frame)
        self._event.set()

    def start(self) -> None:
        if self.url:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="stat-sink")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        delay = 0.1
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    async with session.ws_connect(self.url, heartbeat=30.0) as ws:
                        self.connected = True
                        delay = 0.1
                        log.info("stats stream to %s connected", self.url)
                        await self._pump(ws)
                except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                    log.warning("stats stream to %s: %s; retrying in %.1fs", self.url, exc, delay)
                finally:
                    self.connected = False
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _pump(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        reader = asyncio.ensure_future(self._read(ws))  # ends when the peer closes
        try:
            while not reader.done():
                while self.frames:
                    await ws.send_bytes(self.frames.popleft())
                    self.sent += 1
                self._event.clear()
                waiter = asyncio.ensure_future(self._event.wait())
                await asyncio.wait({waiter, reader}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
        finally:
            reader.cancel()

    @staticmethod
    async def _read(ws: aiohttp.ClientWebSocketResponse) -> None:
        async for _ in ws:  # the autoscaler sends nothing we need; keep pings flowing
            pass
