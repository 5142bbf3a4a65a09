"""The ApiServerSource adapter: one informer per configured resource (per namespace,
with its label selector), whose adds, updates and deletes become events sent to K_SINK.

Configuration (as the controller writes it on the adapter Deployment): K_SINK and
K_SOURCE_CONFIG, JSON {namespaces, resources: [{apiVersion, kind, selector}], owner,
mode, extensions}. An informer's first LIST reports existing objects as adds (as Knative's
adapter does at start). Updates that change nothing but status/resourceVersion are sent
too (Knative sends every update).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from knpy.apis.sources.v1.register import MODE_REFERENCE, MODE_RESOURCE
from knpy.apis.sources.v1.sinkbinding_types import selector_to_query
from knpy.runtime.k8s import Client, Discovery, Informer
from knpy.runtime.k8s.ownerrefs import controller_of
from knpy.runtime.k8s.resources import Obj
from knpy.runtime.process import cancel_and_wait
from knpy.sources.apiserverevents import ADD, DELETE, UPDATE, apiserver_event
from knpy.sources.sender import Sender

__all__ = ["ApiServerAdapter", "SourceConfig"]

log = logging.getLogger("knpy.sources.apiserver")


@dataclass(frozen=True)
class SourceConfig:
    namespaces: list[str]
    resources: list[dict[str, Any]]
    mode: str = MODE_REFERENCE
    owner: dict[str, str] | None = None
    extensions: dict[str, str] = field(default_factory=dict)
    all_namespaces: bool = False

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SourceConfig:
        if not isinstance(d, dict):
            raise ValueError("K_SOURCE_CONFIG: want a JSON object")
        res = d.get("resources")
        if not res or not isinstance(res, list):
            raise ValueError("K_SOURCE_CONFIG.resources: missing field(s)")
        for i, r in enumerate(res):
            if not isinstance(r, dict) or not r.get("apiVersion") or not r.get("kind"):
                raise ValueError(f"K_SOURCE_CONFIG.resources[{i}]: want apiVersion and kind")
        mode = d.get("mode") or MODE_REFERENCE
        if mode not in (MODE_REFERENCE, MODE_RESOURCE):
            raise ValueError(f"K_SOURCE_CONFIG.mode: invalid value: {mode}")
        ns = d.get("namespaces") or []
        return cls(list(ns), res, mode, d.get("owner") or None,
                   dict(d.get("extensions") or {}), bool(d.get("allNamespaces")))


class ApiServerAdapter:
    def __init__(self, client: Client, cfg: SourceConfig, sink: str, sender: Sender,
                 *, source: str | None = None, watch_timeout: int = 300) -> None:
        self.client = client
        self.cfg = cfg
        self.sink = sink
        self.sender = sender
        # the source attribute is the API server's URL, as in Knative
        self.source = source or cast(str, client.api.configuration.host)
        self.watch_timeout = watch_timeout
        self.informers: list[Informer] = []
        self.queue: asyncio.Queue = asyncio.Queue()

    def _owned(self, obj: dict[str, Any]) -> bool:
        want = self.cfg.owner
        if not want:
            return True
        ref = controller_of(obj)
        if ref is None or ref.get("kind") != want.get("kind"):
            return False
        return not want.get("apiVersion") or ref.get("apiVersion") == want["apiVersion"]

    def _emit(self, op: str, obj: dict[str, Any], plural: str) -> None:
        if self._owned(obj):
            self.queue.put_nowait(apiserver_event(self.source, self.cfg.mode, op, obj, plural,
                                                  self.cfg.extensions))

    def _handlers(self, plural: str) -> tuple[Callable[[Obj], None],
                                              Callable[[Obj, Obj], None], Callable[[Obj], None]]:
        return (lambda o: self._emit(ADD, o, plural),
                lambda _old, new: self._emit(UPDATE, new, plural),
                lambda o: self._emit(DELETE, o, plural))

    async def setup(self) -> None:
        disc = Discovery(self.client)
        for r in self.cfg.resources:
            res = await disc.resource_for(r["apiVersion"], r["kind"])
            if res is None:
                raise ValueError(f"the API server does not serve {r['kind']} in "
                                 f"{r['apiVersion']}")
            sel = selector_to_query(r["selector"]) if r.get("selector") else None
            scopes = [None] if self.cfg.all_namespaces or not res.namespaced else \
                self.cfg.namespaces
            for ns in scopes:
                inf = Informer(self.client, res, namespace=ns, label_selector=sel,
                               watch_timeout=self.watch_timeout)
                inf.add_handler(*self._handlers(res.plural))
                self.informers.append(inf)

    async def _send_loop(self) -> None:
        # one sender loop keeps the events of one adapter in the order they were seen
        while True:
            ev = await self.queue.get()
            await self.sender.send(self.sink, ev)

    async def run(self) -> None:
        if not self.informers:
            await self.setup()
        tasks = [asyncio.create_task(i.run(), name=f"informer-{i.resource.plural}")
                 for i in self.informers]
        tasks.append(asyncio.create_task(self._send_loop(), name="send"))
        try:
            await asyncio.gather(*tasks)
        finally:
            await cancel_and_wait(tasks)
