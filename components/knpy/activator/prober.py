"""Backend probing: a pod gets requests only after it answered the activator's probe.

As Knative's activator does (revision_backends.go): `GET /healthz` with
`K-Network-Probe: queue` and `User-Agent: Knative-Activator-Probe`; a pass is 200 with body
`queue` (the queue-proxy's answer once the user container is ready). Each new pod is probed
every 100 ms, each attempt limited to 300 ms, until it passes; a healthy pod stays healthy
until it leaves the backend set or the kubelet calls it not ready (revisions.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from knpy.activator.throttler import PodTracker, RevisionThrottler
from knpy.runtime.proxy.address import split_address
from knpy.runtime.proxy.probe import get_request, probe

log = logging.getLogger("knpy.activator.prober")

PROBE_PERIOD = 0.1  # a new pod gets requests at most this long after it is ready
PROBE_TIMEOUT = 0.3
PROBE_PATH = "/healthz"
USER_AGENT = "Knative-Activator-Probe"


async def probe_once(dest: str, limit: float = PROBE_TIMEOUT) -> bool:
    """One probe of a queue-proxy at `dest` ("host:port"): True on 200 with body `queue`."""
    host, port = split_address(dest)
    request = get_request(PROBE_PATH, dest, (("K-Network-Probe", "queue"),
                                             ("User-Agent", USER_AGENT)))
    answer = await probe(host, port, request, limit, body=True)
    return answer is not None and answer.status == 200 and answer.body == b"queue"


class Prober:
    """Probes new pods of every revision until they pass, then marks them healthy."""

    def __init__(self, period: float = PROBE_PERIOD, timeout: float = PROBE_TIMEOUT,
                 probe: Callable[[str, float], Awaitable[bool]] | None = None,
                 enabled: bool = True) -> None:
        self.period = period
        self.timeout = timeout
        self.enabled = enabled
        self._probe = probe or probe_once
        self._tasks: dict[PodTracker, asyncio.Task[None]] = {}

    def watch(self, rt: RevisionThrottler, tracker: PodTracker) -> None:
        if not self.enabled:  # probing switched off (benchmarks only): trust the list
            rt.set_healthy(tracker.dest, True)
            return
        if tracker in self._tasks or tracker.healthy:
            return
        task = asyncio.get_running_loop().create_task(self._run(rt, tracker))
        self._tasks[tracker] = task
        task.add_done_callback(lambda _t: self._tasks.pop(tracker, None))

    def forget(self, tracker: PodTracker) -> None:
        task = self._tasks.pop(tracker, None)
        if task is not None:
            task.cancel()

    async def _run(self, rt: RevisionThrottler, tracker: PodTracker) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        attempts = 0
        while rt.trackers.get(tracker.dest) is tracker and not rt.closed:
            attempts += 1
            t0 = loop.time()
            if await self._probe(tracker.dest, self.timeout):
                if rt.trackers.get(tracker.dest) is tracker:
                    log.info("%s: pod %s healthy after %d probe(s), %.0f ms", rt.key,
                             tracker.dest, attempts, (loop.time() - started) * 1000)
                    rt.set_healthy(tracker.dest, True)
                return
            await asyncio.sleep(max(0.0, self.period - (loop.time() - t0)))

    def close(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()
        self._tasks.clear()
