"""Liveness and readiness over HTTP for controller processes (kubelet probes).

GET /healthz -> 200 while `healthy()` (the event loop answers, so it is not wedged, and
the informer tasks still run); GET /readyz -> 200 once `ready()` (caches synced), else 503
with the reason. No metrics here: those belong to the observability layer.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

__all__ = ["serve_probes"]

Check = Callable[[], str | None]  # None when fine, else the reason it is not


async def serve_probes(host: str, port: int, *, healthy: Check, ready: Check
                       ) -> web.AppRunner:
    async def probe(check: Check) -> web.Response:
        reason = check()
        if reason is None:
            return web.Response(text="ok")
        return web.Response(status=503, text=reason)

    async def healthz(_r: web.Request) -> web.Response:
        return await probe(healthy)

    async def readyz(_r: web.Request) -> web.Response:
        return await probe(ready)

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
