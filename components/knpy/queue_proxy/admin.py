""":8022 — the admin port: `/wait-for-drain`, called by the user container's preStop hook.

As in Knative, it starts the drain. It answers once the queue-proxy has drained and
finished the requests in flight (Knative answers when the quiet period ends), so the
kubelet stops the user container only after its last request. If no SIGTERM reaches the
queue-proxy within `TERM_WAIT` seconds, the kubelet is restarting the user container
(liveness), not deleting the pod, so the drain is called off and the hook answers at once.
"""

from __future__ import annotations

import asyncio
import logging

from knpy.queue_proxy.drain import Drainer
from knpy.runtime.proxy import Exchange, http

log = logging.getLogger("knpy.queue_proxy")

DRAIN_PATH = b"/wait-for-drain"
# Knative waits 1 s. The kubelet sends the queue-proxy its SIGTERM concurrently with the
# user container's preStop, through the container runtime; on a loaded node that took
# longer than 1 s, the drain was called off, the user container stopped at once and
# requests still routed to the pod failed (502 "connection refused" or cut mid-request).
# Waiting longer only delays a liveness restart of an already failing container.
TERM_WAIT = 10.0
_NOT_FOUND = http.error_response(404, "404 page not found")
_OK = http.response(200, b"")


class AdminHandler:
    def __init__(self, drainer: Drainer, terminating: asyncio.Event,
                 term_wait: float = TERM_WAIT) -> None:
        self.drainer = drainer
        self.terminating = terminating
        self.term_wait = term_wait

    def handle(self, ex: Exchange) -> None:
        if ex.path() != DRAIN_PATH:
            ex.respond_raw(_NOT_FOUND)
            return
        ex.defer(self._wait_for_drain(ex))

    async def _wait_for_drain(self, ex: Exchange) -> None:
        log.info("preStop: /wait-for-drain")
        self.drainer.start()
        loop = asyncio.get_running_loop()
        loop.call_later(self.term_wait, self._maybe_reset)
        await self.drainer.until_finished()
        ex.respond_raw(_OK)

    def _maybe_reset(self) -> None:
        if not self.terminating.is_set():
            log.info("no SIGTERM %gs after /wait-for-drain: a container restart, drain called "
                     "off", self.term_wait)
            self.drainer.reset()
