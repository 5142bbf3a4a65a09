"""Where a split's Service is reached: its ClusterIP at the split's port (kube-proxy takes
it from there, so the gateway needs no cluster DNS), or, for an ExternalName Service, that
host at the split's port. One upstream pool per (host, port), shared by every split that
resolves there; resolutions are cached until the Service changes.

Retries (a KIngress path's `retries.attempts`): when a dial fails, the request is dialed
again after a short backoff (25 ms, doubling, as Envoy's default) while attempts remain;
only dial failures, where no byte of the request reached an upstream, so even a POST with a
body may go again. A failure after the request was sent is not retried."""

from __future__ import annotations

import asyncio
from typing import Any

from knpy.ingress.table import Backend
from knpy.runtime.k8s import Lister
from knpy.runtime.proxy import Exchange, ProxyOptions, UpstreamPool

__all__ = ["Backends", "Retries", "upstream_of"]

BACKOFF = 0.025  # first retry's delay (s); doubles per attempt


class Retries:
    """An exchange's retry budget (its `user` state while the gateway forwards it)."""

    __slots__ = ("done", "left")

    def __init__(self, attempts: int) -> None:
        self.left = attempts
        self.done = 0


def _redial(pool: UpstreamPool, ex: Exchange) -> bool:
    """UpstreamPool.on_dial_error: take the exchange over while it has attempts left."""
    r = ex.user
    if not isinstance(r, Retries) or r.left <= 0:
        return False
    r.left -= 1
    delay = BACKOFF * (2 ** r.done)
    r.done += 1

    def again() -> None:
        if not ex.finished:  # the client went away or a timeout answered meanwhile
            ex.redirect(pool)
    asyncio.get_running_loop().call_later(delay, again)
    return True

Obj = dict[str, Any]


def upstream_of(svc: Obj | None, port: int) -> tuple[str, int] | None:
    """(host, port) a split to `svc` at `port` goes to; None if it cannot be reached."""
    spec = (svc or {}).get("spec") or {}
    if spec.get("type") == "ExternalName":
        host = spec.get("externalName") or ""
        return (host, port) if host else None
    ip = spec.get("clusterIP") or ""
    if not ip or ip == "None":  # no address yet, or headless
        return None
    return ip, port


class Backends:
    def __init__(self, services: Lister, options: ProxyOptions) -> None:
        self.services = services
        self.options = options
        self._pools: dict[tuple[str, int], UpstreamPool] = {}
        self._resolved: dict[tuple[str, str, int], UpstreamPool | None] = {}

    def pool(self, b: Backend) -> UpstreamPool | None:
        key = (b.namespace, b.name, b.port)
        try:
            return self._resolved[key]
        except KeyError:
            pass
        target = upstream_of(self.services.get(b.namespace, b.name), b.port)
        pool = None
        if target is not None:
            pool = self._pools.get(target)
            if pool is None:
                pool = self._pools[target] = UpstreamPool(
                    target[0], target[1], max_idle=self.options.max_idle_upstream,
                    write_high_water=self.options.write_high_water)
                pool.on_dial_error = _redial
        self._resolved[key] = pool
        return pool

    def service_changed(self, svc: Obj) -> None:
        md = svc.get("metadata") or {}
        ns, name = md.get("namespace"), md.get("name")
        for key in [k for k in self._resolved if k[0] == ns and k[1] == name]:
            del self._resolved[key]
        used = {id(p) for p in self._resolved.values() if p is not None}
        for target, pool in list(self._pools.items()):
            if id(pool) not in used:
                pool.close()
                del self._pools[target]

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()
        self._resolved.clear()
