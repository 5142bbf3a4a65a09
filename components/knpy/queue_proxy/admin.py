""":8022 — the admin port: `/wait-for-drain`, called by the user container's preStop hook.

As in Knative, it starts the drain and answers once the drain completes. If no SIGTERM
follows within a second, the kubelet is restarting the user container (liveness), not
deleting the pod, so the drain is called off.
"""

from __future__ import annotations

import asyncio

from knpy.queue_proxy.drain import Drainer
from knpy.runtime.proxy import Exchange, http

DRAIN_PATH = b"/wait-for-drain"
_NOT_FOUND = http.error_response(404, "404 page not found")
_OK = http.response(200, b"")


class AdminHandler:
    def __init__(self, drainer: Drainer, terminating: asyncio.Event) -> None:
        self.drainer = drainer
        self.terminating = terminating

    def handle(self, ex: Exchange) -> None:
        if ex.path() != DRAIN_PATH:
            ex.respond_raw(_NOT_FOUND)
            return
        ex.defer(self._wait_for_drain(ex))

    async def _wait_for_drain(self, ex: Exchange) -> None:
        self.drainer.start()
        loop = asyncio.get_running_loop()
        loop.call_later(1.0, self._maybe_reset)
        await self.drainer.drain()
        ex.respond_raw(_OK)

    def _maybe_reset(self) -> None:
        if not self.terminating.is_set():
            self.drainer.reset()
