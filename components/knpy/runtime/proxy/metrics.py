"""GET /metrics (Prometheus text) on a proxy-core port: a `Handler` for servers of
`Exchange`s (the queue-proxy's and the activator's metrics ports), and `serve_metrics`
for a process that has no other listener to put it on."""

from __future__ import annotations

from collections.abc import Callable

from knpy.runtime.observability.metrics import CONTENT_TYPE
from knpy.runtime.proxy import http
from knpy.runtime.proxy.exchange import Exchange
from knpy.runtime.proxy.options import ProxyOptions
from knpy.runtime.proxy.server import Server

__all__ = ["PROM_CONTENT_TYPE", "MetricsHandler", "serve_metrics"]

PROM_CONTENT_TYPE = CONTENT_TYPE.encode()
_NOT_FOUND = http.error_response(404, "404 page not found")


class MetricsHandler:
    """Answers GET /metrics with `render()`, everything else 404."""

    def __init__(self, render: Callable[[], bytes]) -> None:
        self.render = render

    def handle(self, ex: Exchange) -> None:
        if ex.path() != b"/metrics":
            ex.respond_raw(_NOT_FOUND)
            return
        ex.reply(200, self.render(), content_type=PROM_CONTENT_TYPE)


async def serve_metrics(host: str, port: int, render: Callable[[], bytes]) -> Server:
    """A metrics-only listener on host:port; stop it with `await server.close()`."""
    server = Server(MetricsHandler(render), ProxyOptions(keepalive_timeout=75.0))
    await server.listen(host, port)
    return server
