"""Watch the kinds SinkBindings bind: one cluster-wide informer per subject kind, started
on first use (found through discovery), whose changes re-queue the bindings of that kind
in that namespace. So a Deployment created after its binding gets K_SINK at once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from knpy.runtime.k8s import Client, Discovery, Informer, Resource
from knpy.runtime.k8s.resources import Obj
from knpy.runtime.process import cancel_and_wait

__all__ = ["SubjectWatcher"]

log = logging.getLogger("knpy.controller.sources.subjects")


class SubjectWatcher:
    def __init__(self, client: Client, discovery: Discovery,
                 on_change: Callable[[Resource, Obj], None], *,
                 shared: dict[Resource, Informer] | None = None,
                 watch_timeout: int = 300) -> None:
        self.client = client
        self.discovery = discovery
        self.on_change = on_change
        self.watch_timeout = watch_timeout
        self.informers: dict[Resource, Informer] = {}
        self._tasks: list[asyncio.Task] = []
        # informers the controller runs anyway (Deployments) are reused, not duplicated
        for res, inf in (shared or {}).items():
            inf.on_change(self._relay(res))
            self.informers[res] = inf

    def _relay(self, res: Resource) -> Callable[[Obj], None]:
        return lambda o: self.on_change(res, o)

    async def resource(self, api_version: str, kind: str) -> Resource | None:
        res = await self.discovery.resource_for(api_version, kind)
        if res is None:
            self.discovery.invalidate()
            res = await self.discovery.resource_for(api_version, kind)
        return res

    async def informer(self, res: Resource, within: float = 30.0) -> Informer:
        inf = self.informers.get(res)
        if inf is None:
            inf = Informer(self.client, res, watch_timeout=self.watch_timeout)
            inf.on_change(self._relay(res))
            self.informers[res] = inf
            self._tasks.append(asyncio.create_task(inf.run(), name=f"subjects-{res.plural}"))
            log.info("watching SinkBinding subjects of kind %s", res)
        await inf.wait_synced(within)
        return inf

    async def close(self) -> None:
        await cancel_and_wait(self._tasks)
        self._tasks.clear()
