"""The gateway's request path on the proxy core, per listener (external: ExternalIP rules
only; internal: every rule):

1. the Host (lower-cased, port dropped) picks the host's paths; none: 404;
2. the first path whose prefix and header matches fit (longest prefix first);
3. a weighted random split of that path; its Service resolved to an upstream (none: 503);
4. the split's and the path's appendHeaders replace any the client sent; rewriteHost
   replaces Host; forwarded with X-Forwarded-For, X-Forwarded-Proto and Forwarded (the
   core adds them: ProxyOptions(forwarded="always"));
5. the path's `timeout` bounds the time until the response starts (504 `upstream request
   timeout`, Envoy's body); its `retries.attempts` re-dial the split when connecting fails
   (backends.py: nothing of the request reached an upstream, so any request may go again).
"""

from __future__ import annotations

from collections.abc import Callable

from knpy.ingress.backends import Backends, Retries
from knpy.ingress.metrics import GatewayMetrics
from knpy.ingress.table import Path, Table
from knpy.runtime.proxy import Exchange, http

__all__ = ["IngressHandler"]

_NO_PATH = http.error_response(404, "no route for this path")
_NO_SPLIT = http.error_response(503, "no traffic target for this route")
_NO_HOST = http.error_response(404, "no Host header")
_TIMEOUT = b"upstream request timeout"


def host_of(host: bytes) -> bytes:
    """Lower-cased host without its port ([v6] literals keep their brackets)."""
    if host.startswith(b"["):
        return host[:host.find(b"]") + 1].lower()
    return host.partition(b":")[0].lower()


class IngressHandler:
    def __init__(self, table: Callable[[], Table], backends: Backends, *,
                 external: bool, metrics: GatewayMetrics) -> None:
        self.table = table
        self.backends = backends
        self.external = external
        self.metrics = metrics
        self.routes = metrics.routes
        self.last_request = 0.0  # loop time of the latest request (the drain's quiet period)

    def handle(self, ex: Exchange) -> None:
        self.last_request = ex.t0
        ex.on_done = self.metrics.unrouted.done  # until a split is picked
        if ex.host is None:
            ex.respond_raw(_NO_HOST)
            return
        host = host_of(ex.host)
        t = self.table()
        paths = (t.external if self.external else t.internal).get(host)
        if paths is None:
            ex.reply(404, b"no route for host %s\n" % host)
            return
        path = self._match(ex, paths)
        if path is None:
            ex.respond_raw(_NO_PATH)
            return
        backend = path.pick()
        pool = self.backends.pool(backend) if backend is not None else None
        if pool is None or backend is None:
            ex.respond_raw(_NO_SPLIT)
            return
        route = self.routes.get((backend.namespace, backend.name))
        if route is None:
            route = self.metrics.route(backend.namespace, backend.name)
        ex.on_done = route.done
        names = path.header_names | backend.header_names
        if path.rewrite_host:
            names = names | {b"host"}
        if names:
            ex.lines = http.drop_named(ex.lines, names)
        extra = path.header_lines + backend.header_lines
        if path.rewrite_host:
            extra += b"Host: %s\r\n" % path.rewrite_host
        if path.timeout:
            ex.set_timeout(path.timeout, _TIMEOUT)
        if path.attempts:
            ex.user = Retries(path.attempts)
        ex.forward(pool, extra)

    @staticmethod
    def _match(ex: Exchange, paths: list[Path]) -> Path | None:
        target = ex.path()
        for p in paths:
            if p.prefix and not target.startswith(p.prefix):
                continue
            if all(ex.header(k) == v for k, v in p.headers):
                return p
        return None
