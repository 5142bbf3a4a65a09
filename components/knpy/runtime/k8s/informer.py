"""List+watch informers with a local cache (the lister), bookmarks and relist on 410.

One loop per informer: LIST (paginated) to fill the cache and learn a resourceVersion, then
WATCH from it with `allowWatchBookmarks`, so quiet resources still advance the version and a
reconnect rarely needs a relist. When the server says the version is gone (HTTP 410 on
connect, or an ERROR event with code 410 mid-stream, after etcd compaction), the informer
relists and diffs the new list against the cache, so handlers see the adds, updates and
deletes they missed. A dropped connection re-watches from the last version (no relist);
any other failure backs off exponentially and relists.

Handlers are plain synchronous callables (they only enqueue keys): on_add(obj),
on_update(old, new), on_delete(obj). Objects in the cache are shared: never mutate them
(Reconciler deep-copies before reconcile_kind).

A process that writes an object tells the lister what the API server answered
(`Lister.observe`), so its next reconcile reads its own write instead of the version before
it: without that, a reconcile that runs before the watch event arrives writes again from the
stale copy, a 409 and a retry for a status, the same patch twice for a label. The cache
keeps the newer of the two, by resourceVersion, until the watch catches up.
"""

from __future__ import annotations

import asyncio
import builtins
import copy
import logging
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import aiohttp

from knpy.runtime.k8s.client import Client
from knpy.runtime.k8s.errors import ApiError
from knpy.runtime.k8s.resources import Obj, Resource, key_of, resource_version

__all__ = ["Handler", "Informer", "Lister"]

log = logging.getLogger("knpy.k8s.informer")


class Lister:
    """The informer's cache, read by reconcilers: get by namespace/name, list by namespace."""

    def __init__(self, resource: Resource | None = None) -> None:
        self.resource = resource
        self._items: dict[str, Obj] = {}
        # the newest resourceVersion the informer has applied; an observed write at or
        # below it has already come through the watch (or was deleted since)
        self.seen = 0

    def get(self, namespace: str | None, name: str) -> Obj | None:
        return self._items.get(f"{namespace}/{name}" if namespace else name)

    def get_key(self, key: str) -> Obj | None:
        return self._items.get(key)

    def list(self, namespace: str | None = None,
             where: Callable[[Obj], bool] | None = None) -> list[Obj]:
        out = []
        for obj in self._items.values():
            if namespace is not None and obj["metadata"].get("namespace") != namespace:
                continue
            if where is None or where(obj):
                out.append(obj)
        return out

    def all_keys(self) -> builtins.list[str]:  # `list` here is the method above
        return list(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def observe(self, obj: Obj) -> None:
        """Cache an object as the API server returned it from this process's own update or
        patch, unless the watch has already got that far. Only an object already cached is
        replaced: one outside the informer's namespace or selector must not get in, and a
        create is left to the watch. Versions that are not numbers (any server but etcd's)
        are left to the watch too."""
        rv = _number(resource_version(obj))
        if rv is None or rv <= self.seen:
            return
        have = self._items.get(key_of(obj))
        if have is not None and _newer(obj, have):
            self._items[key_of(obj)] = copy.deepcopy(obj)  # the caller may go on to mutate it

    def newer_than(self, obj: Obj) -> Obj | None:
        """The cached object, if an observed write made it newer than `obj` (a watch
        event the write has overtaken)."""
        have = self._items.get(key_of(obj))
        return have if have is not None and _newer(have, obj) else None

    def saw(self, rv: str) -> None:
        n = _number(rv)
        if n is not None and n > self.seen:
            self.seen = n

    # Mutators are for the informer (and for tests that seed a world).
    def put(self, obj: Obj) -> Obj | None:
        key = key_of(obj)
        old = self._items.get(key)
        self._items[key] = obj
        return old

    def remove(self, obj: Obj) -> Obj | None:
        return self._items.pop(key_of(obj), None)

    def replace(self, objs: Iterable[Obj]) -> dict[str, Obj]:
        old = self._items
        self._items = {key_of(o): o for o in objs}
        return old


def _number(rv: str) -> int | None:
    return int(rv) if rv.isdigit() else None


def _newer(a: Obj, b: Obj) -> bool:
    """a's resourceVersion is past b's; False unless both are etcd's numbers."""
    x, y = _number(resource_version(a)), _number(resource_version(b))
    return x is not None and y is not None and x > y


@dataclass(slots=True)
class Handler:
    on_add: Callable[[Obj], object] | None = None  # return values are ignored
    on_update: Callable[[Obj, Obj], object] | None = None
    on_delete: Callable[[Obj], object] | None = None


class _Expired(Exception):
    pass


class Informer:
    def __init__(self, client: Client, resource: Resource, *, namespace: str | None = None,
                 label_selector: str | None = None, field_selector: str | None = None,
                 watch_timeout: int = 300, page_size: int = 500) -> None:
        self.client = client
        self.resource = resource
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.watch_timeout = watch_timeout
        self.page_size = page_size
        self.lister = Lister(resource)
        self.handlers: list[Handler] = []
        self.synced = asyncio.Event()
        self.resource_version = ""
        self.relists = 0  # how many LISTs after the first (410s, errors): for tests/metrics
        self.bookmarks = 0

    def add_handler(self, on_add: Callable[[Obj], object] | None = None,
                    on_update: Callable[[Obj, Obj], object] | None = None,
                    on_delete: Callable[[Obj], object] | None = None) -> None:
        self.handlers.append(Handler(on_add, on_update, on_delete))

    def on_change(self, fn: Callable[[Obj], None]) -> None:
        """One callable for add, update (new object) and delete."""
        self.add_handler(fn, lambda _old, new: fn(new), fn)

    async def wait_synced(self, within: float | None = None) -> None:
        async with asyncio.timeout(within):
            await self.synced.wait()

    # ------------------------------------------------------------------ loop
    async def run(self) -> None:
        """List, then watch forever. Run again after a cancel and it resumes watching from
        the last version it saw (relisting only if the server says that version is gone)."""
        delay = 0.2
        need_list = not self.resource_version
        while True:
            try:
                if need_list:
                    listed_before = self.synced.is_set()
                    await self._list()
                    if listed_before:
                        self.relists += 1
                self.synced.set()
                need_list = True  # whatever ends the watch loop below, relist after it
                delay = 0.2
                await self._watch_until_broken()
            except _Expired:
                log.info("%s: resourceVersion %s expired, relisting", self.resource,
                         self.resource_version)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # network, 5xx, auth: retry with backoff
                log.warning("%s: list/watch failed: %s; retrying in %.1fs", self.resource,
                            exc, delay)
                await asyncio.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 30.0)

    async def _watch_until_broken(self) -> None:
        """Watch, re-watching from the last version after a timeout or a dropped connection
        (a few times in a row, with backoff); return only by raising, to relist."""
        failures = 0
        while True:
            try:
                await self._watch()
                failures = 0
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                failures += 1
                if failures > 5:
                    raise
                wait = min(0.2 * 2 ** failures, 10.0)
                log.info("%s: watch connection lost (%s); re-watching from %s in %.1fs",
                         self.resource, exc, self.resource_version, wait)
                await asyncio.sleep(wait * (0.5 + random.random()))

    async def _list(self) -> None:
        items: list[Obj] = []
        cont: str | None = None
        while True:
            page = await self.client.list(
                self.resource, self.namespace, label_selector=self.label_selector,
                field_selector=self.field_selector, limit=self.page_size, continue_=cont)
            kind = self.resource.kind
            for it in page.get("items") or []:
                # LIST items carry no apiVersion/kind; add them so objects are self-describing.
                it.setdefault("apiVersion", self.resource.api_version)
                it.setdefault("kind", kind)
                items.append(it)
            cont = (page.get("metadata") or {}).get("continue")
            if not cont:
                self.resource_version = page["metadata"]["resourceVersion"]
                break
        old = self.lister.replace(items)
        self.lister.saw(self.resource_version)
        for key, obj in self.lister._items.items():
            prev = old.pop(key, None)
            if prev is None:
                self._fire_add(obj)
            elif resource_version(prev) != resource_version(obj):
                self._fire_update(prev, obj)
        for gone in old.values():
            self._fire_delete(gone)

    async def _watch(self) -> None:
        timeout = int(self.watch_timeout * (1 + random.random()))
        try:
            async for ev in self.client.watch(
                    self.resource, self.namespace, self.resource_version,
                    timeout_seconds=timeout, label_selector=self.label_selector,
                    field_selector=self.field_selector):
                self._apply(ev)
        except ApiError as exc:
            if exc.gone:
                raise _Expired from exc
            raise

    def _apply(self, ev: Obj) -> None:
        typ, obj = ev.get("type"), ev.get("object") or {}
        if typ == "ERROR":
            if obj.get("code") == 410:
                raise _Expired
            raise ApiError(int(obj.get("code") or 500), obj.get("reason", ""), obj)
        rv = resource_version(obj)
        if typ == "BOOKMARK":
            self.bookmarks += 1
            self.resource_version = rv or self.resource_version
            self.lister.saw(rv)
            return
        obj.setdefault("apiVersion", self.resource.api_version)
        obj.setdefault("kind", self.resource.kind)
        self.lister.saw(rv)
        if typ in ("ADDED", "MODIFIED"):
            ahead = self.lister.newer_than(obj)
            if ahead is not None:  # this process's own later write is cached: keep it
                self._fire_update(ahead, ahead)
            elif (old := self.lister.put(obj)) is None:
                self._fire_add(obj)
            else:
                self._fire_update(old, obj)
        elif typ == "DELETED":
            old = self.lister.remove(obj)
            self._fire_delete(old or obj)
        if rv:
            self.resource_version = rv

    # ------------------------------------------------------------------ fan-out
    def _fire_add(self, obj: Obj) -> None:
        for h in self.handlers:
            if h.on_add:
                _safe(h.on_add, obj)

    def _fire_update(self, old: Obj, new: Obj) -> None:
        for h in self.handlers:
            if h.on_update:
                _safe(h.on_update, old, new)

    def _fire_delete(self, obj: Obj) -> None:
        for h in self.handlers:
            if h.on_delete:
                _safe(h.on_delete, obj)


def _safe(fn: Callable[..., object], *args: Obj) -> None:
    try:
        fn(*args)
    except Exception:  # a bad handler must not kill the informer
        log.exception("informer handler %r failed", fn)
