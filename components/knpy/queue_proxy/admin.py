""":8022 — the admin port: `/wait-for-drain`, called by the user container's preStop hook.

As in Knative, it starts the drain. It answers once the queue-proxy has drained and
finished the requests in flight (Knative answers when the quiet period ends), so the
kubelet stops the user container only after its last request. If no SIGTERM reaches the
queue-proxy within a second, the kubelet is restarting the user container (liveness), not
deleting the pod, so the drain is called off and the hook answers at once.

Kubelets before 1.26 build the hook's URL as `http://<ip>:<port>/` + path, so the
`/wait-for-drain` of the pod spec arrives as `//wait-for-drain`. Knative's Go mux
redirects that to the clean path and the kubelet follows; here repeated leading slashes
are simply ignored. (Answering it 404 made the hook return at once: the kubelet ignores
the status, so the user container was stopped together with the queue-proxy while
requests were still routed to the pod.)
"""

from __future__ import annotations

import asyncio
import logging

from knpy.queue_proxy.drain import Drainer
from knpy.runtime.proxy import Exchange, http

log = logging.getLogger("knpy.queue_proxy")

DRAIN_PATH = b"/wait-for-drain"
TERM_WAIT = 1.0  # Knative's: no SIGTERM this long after the hook = a container restart
_NOT_FOUND = http.error_response(404, "404 page not found")
_OK = http.response(200, b"")


class AdminHandler:
    def __init__(self, drainer: Drainer, terminating: asyncio.Event,
                 term_wait: float = TERM_WAIT) -> None:
        self.drainer = drainer
        self.terminating = terminating
        self.term_wait = term_wait

    def handle(self, ex: Exchange) -> None:
        path = ex.path()
        if path[:2] == b"//":
            path = b"/" + path.lstrip(b"/")
        if path != DRAIN_PATH:
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
            log.info("no SIGTERM %gs after /wait-for-drain: a container restart, drain "
                     "called off", self.term_wait)
            self.drainer.reset()
