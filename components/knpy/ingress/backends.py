"""Where a split's Service is reached: its ClusterIP at the split's port (kube-proxy takes
it from there, so the gateway needs no cluster DNS), or, for an ExternalName Service, that
host at the split's port. One upstream pool per (host, port), shared by every split that
resolves there; resolutions are cached until the Service changes."""

from __future__ import annotations

from typing import Any

from knpy.ingress.table import Backend
from knpy.runtime.k8s import Lister
from knpy.runtime.proxy import ProxyOptions, UpstreamPool

__all__ = ["Backends", "upstream_of"]

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
