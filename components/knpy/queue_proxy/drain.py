"""Graceful drain (Knative's handlers.Drainer): fail probes, keep serving, wait for quiet.

Once draining, readiness probes answer 503 so the endpoints controller takes the pod out of
rotation, but requests that still arrive are served normally. The drain completes once
`quiet_period` has passed with no new request; then in-flight requests and upgraded
connections are waited for (up to the revision timeout) before the process exits.
`finished` is set once that is over: the user container's preStop (`/wait-for-drain`)
answers only then, so the kubelet stops the user container after its last request.
"""

from __future__ import annotations

import asyncio
import contextlib


class Drainer:
    def __init__(self, quiet_period: float) -> None:
        self.quiet_period = quiet_period
        self.draining = False
        self._started = 0.0
        self._reset_count = 0
        # loop.time() of the latest non-probe request (probes must not extend the drain)
        self.last_request = 0.0
        # Set by the process once the proxy has drained and answered what was in flight.
        self.finished = asyncio.Event()

    def start(self) -> None:
        if not self.draining:
            self.draining = True
            self._started = asyncio.get_running_loop().time()

    def reset(self) -> None:
        """Stop draining (Knative: /wait-for-drain without a SIGTERM soon after)."""
        self.draining = False
        self._reset_count += 1

    async def drain(self) -> bool:
        """Start draining if needed; return True once quiet, False if reset meanwhile."""
        self.start()
        resets = self._reset_count
        loop = asyncio.get_running_loop()
        while True:
            if self._reset_count != resets:
                return False
            quiet_since = max(self._started, self.last_request)
            remaining = quiet_since + self.quiet_period - loop.time()
            if remaining <= 0:
                return True
            await asyncio.sleep(min(remaining, 0.5))

    async def until_finished(self) -> bool:
        """drain(), then wait for `finished`; False if the drain is called off first."""
        resets = self._reset_count
        if not await self.drain():
            return False
        while not self.finished.is_set():
            if self._reset_count != resets:
                return False
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.5):
                    await self.finished.wait()
        return True
