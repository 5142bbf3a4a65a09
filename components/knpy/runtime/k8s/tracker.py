"""Track objects a reconciler references (knative.dev/pkg/tracker in spirit).

A Trigger's subscriber may be any Addressable kind (ksvc, Service, Broker, ...). The
trigger reconciler calls `track(api_version, kind, namespace, name, by="ns/trigger")`;
the tracker starts (once per kind) a cluster-wide informer for that kind, found through
discovery, and re-queues every tracking key when a tracked object is added, changes or
goes away. So a trigger turns Ready as soon as its ksvc gets an address, not at the next
resync.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from knpy.runtime.k8s.client import Client
from knpy.runtime.k8s.discovery import Discovery
from knpy.runtime.k8s.informer import Informer
from knpy.runtime.k8s.resources import Obj, Resource
from knpy.runtime.process import cancel_and_wait

__all__ = ["Tracker"]

log = logging.getLogger("knpy.k8s.tracker")

Ref = tuple[Resource, str, str]  # (resource, namespace, name)


class Tracker:
    def __init__(self, client: Client, discovery: Discovery, enqueue: Callable[[str], None],
                 *, watch_timeout: int = 300) -> None:
        self.client = client
        self.discovery = discovery
        self.enqueue = enqueue
        self.watch_timeout = watch_timeout
        self._by_ref: dict[Ref, set[str]] = {}
        self.informers: dict[Resource, Informer] = {}
        self._tasks: list[asyncio.Task] = []

    async def track(self, api_version: str, kind: str, namespace: str, name: str,
                    by: str) -> bool:
        """Re-queue `by` whenever that object changes. False if the kind is not served."""
        res = await self.discovery.resource_for(api_version, kind)
        if res is None:
            return False
        self._by_ref.setdefault((res, namespace if res.namespaced else "", name), set()).add(by)
        if res not in self.informers:
            inf = Informer(self.client, res, watch_timeout=self.watch_timeout)
            inf.on_change(lambda o: self._changed(res, o))
            self.informers[res] = inf
            self._tasks.append(asyncio.create_task(inf.run(), name=f"tracker-{res.plural}"))
            log.info("tracking %s", res)
        return True

    def forget(self, by: str) -> None:
        """`by` is gone: stop re-queueing it."""
        for keys in self._by_ref.values():
            keys.discard(by)

    def tracking(self, by: str) -> list[Ref]:
        return [ref for ref, keys in self._by_ref.items() if by in keys]

    def _changed(self, res: Resource, obj: Obj) -> None:
        md = obj.get("metadata") or {}
        for key in sorted(self._by_ref.get((res, md.get("namespace") or "", md["name"]), ())):
            self.enqueue(key)

    async def close(self) -> None:
        await cancel_and_wait(self._tasks)
        self._tasks.clear()
