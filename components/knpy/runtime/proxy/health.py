"""Liveness and readiness over HTTP for control-plane processes (kubelet probes), served
by the proxy core (`app.AppServer`), so the core's head limits and timeouts hold on these
ports too.

GET /healthz -> 200 `ok` while `healthy()` (the event loop answers, so it is not wedged,
and the informer tasks still run); GET /readyz -> 200 `ok` once `ready()` (caches
synced), else 503 with the reason; GET /metrics -> the process's Prometheus text when
a `metrics` renderer is given (knpy.runtime.observability.metrics), so the probe port is
the metrics port too.
"""

from __future__ import annotations

from collections.abc import Callable

from knpy.runtime.proxy.app import AppServer, Request, method_not_allowed, not_found
from knpy.runtime.proxy.metrics import PROM_CONTENT_TYPE
from knpy.runtime.proxy.options import ProxyOptions

__all__ = ["Check", "serve_probes"]

Check = Callable[[], str | None]  # None when fine, else the reason it is not
Render = Callable[[], bytes]
_GET = frozenset({b"GET", b"HEAD"})


class Probes:
    """A `runtime.proxy.app.App` answering every request from its head."""

    def __init__(self, healthy: Check, ready: Check, metrics: Render | None = None) -> None:
        self.checks = {b"/healthz": healthy, b"/readyz": ready}
        self.metrics = metrics

    def head(self, req: Request) -> None:
        path = req.path()
        check = self.checks.get(path)
        if path == b"/metrics" and self.metrics is not None and req.method in _GET:
            req.reply(200, self.metrics(), content_type=PROM_CONTENT_TYPE)
        elif check is None:
            not_found(req)
        elif req.method not in _GET:
            method_not_allowed(req, _GET)
        else:
            reason = check()
            if reason is None:
                req.reply(200, b"ok")
            else:
                req.reply(503, reason.encode())

    async def respond(self, req: Request) -> None:
        not_found(req)  # not reached: head() answers every request


async def serve_probes(host: str, port: int, *, healthy: Check, ready: Check,
                       metrics: Render | None = None) -> AppServer:
    """Listening on host:port; stop it with `await server.close()`."""
    # Idle keep-alive connections close after 75 s, as aiohttp's server did.
    server = AppServer(Probes(healthy, ready, metrics), ProxyOptions(keepalive_timeout=75.0))
    await server.listen(host, port)
    return server
