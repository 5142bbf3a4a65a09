"""Where the broker learns its contract: the controller's ConfigMap, watched through the API
(cluster mode), or a file (standalone mode, and tests that run no API server).

Cluster mode watches the one ConfigMap (field selector `metadata.name=<name>`, so RBAC can
grant get/list/watch on it alone by resourceNames) with the runtime's informer: a change
reaches the broker in the time of a watch event, where a mounted ConfigMap waited for the
kubelet's volume sync (64-236 s apart, measured). The informer re-watches after a timeout
or a dropped connection and relists after a 410. Each source yields a `Loaded`: the parsed
contract and the generation the controller stamped on it (0 for a file).
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from knpy.runtime.config import FieldError
from knpy.runtime.contract import eventing
from knpy.runtime.k8s import CONFIGMAPS, Client, Informer

__all__ = ["ConfigMapSource", "FileSource", "Loaded", "Source"]

log = logging.getLogger("knpy.broker.contract")


@dataclass(frozen=True, slots=True)
class Loaded:
    contract: eventing.EventingContract
    generation: int
    uid: str = ""  # the ConfigMap's (a re-created map counts from 1 again)


class Source(Protocol):
    wake: asyncio.Event  # set when a change may be waiting (the loop also polls)

    async def start(self) -> None: ...

    def changed(self) -> Loaded | None: ...

    async def close(self) -> None: ...


class FileSource:
    """Polls a file for changes (replace it atomically to change it)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.wake = asyncio.Event()
        self._stamp: tuple[int, int, int] | None = None

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    def changed(self) -> Loaded | None:
        """The new contract if the file changed and parses; None otherwise."""
        try:
            st = os.stat(self.path)
        except OSError as e:
            if self._stamp is not None:
                log.error("contract %s unreadable: %s; keeping the last one", self.path, e)
            return None
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        if stamp == self._stamp:
            return None
        self._stamp = stamp
        try:
            return Loaded(eventing.loads(self.path.read_text()), 0)
        except (FieldError, OSError) as e:
            log.error("contract %s rejected, keeping the last good one:\n%s", self.path, e)
            return None


class ConfigMapSource:
    """Watches the contract ConfigMap `namespace/name` through the API."""

    def __init__(self, client: Client, namespace: str, name: str, *,
                 watch_timeout: int = 300) -> None:
        self.namespace, self.name = namespace, name
        self.wake = asyncio.Event()
        self.informer = Informer(client, CONFIGMAPS, namespace=namespace,
                                 field_selector=f"metadata.name={name}",
                                 watch_timeout=watch_timeout)
        self.informer.on_change(lambda _cm: self.wake.set())
        self._seen: str | None = None
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        """Start watching; return once the first LIST is in (the ingress listens after)."""
        self._task = asyncio.create_task(self.informer.run(), name="contract-informer")
        done, _ = await asyncio.wait([self._task, asyncio.ensure_future(
            self.informer.wait_synced())], return_when=asyncio.FIRST_COMPLETED)
        if self._task in done:
            self._task.result()  # raises what stopped it

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def changed(self) -> Loaded | None:
        cm = self.informer.lister.get(self.namespace, self.name)
        if cm is None:
            # Not written yet (a fresh install): serve nothing until it is. Once a contract
            # was served, a deleted map keeps it (the controller writes it back).
            if self._seen is None:
                self._seen = ""
                return Loaded(eventing.EventingContract(), 0)
            return None
        rv = cm["metadata"].get("resourceVersion", "")
        if rv == self._seen:
            return None
        self._seen = rv
        ann = cm["metadata"].get("annotations") or {}
        try:
            gen = int(ann.get(eventing.GENERATION_ANNOTATION) or 0)
            return Loaded(eventing.loads((cm.get("data") or {}).get(eventing.CONTRACT_KEY) or "{}"),
                          gen, cm["metadata"].get("uid", ""))
        except (FieldError, ValueError) as e:
            log.error("contract ConfigMap %s/%s (resourceVersion %s) rejected, keeping the "
                      "last good one:\n%s", self.namespace, self.name, rv, e)
            return None
