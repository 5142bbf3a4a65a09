"""Level-triggered reconciliation: the generic `Reconciler[T]` and the `Controller` loop.

`Reconciler[T]` is written once (knative generates one per kind): for a key it GETs the
object from the lister, deep-copies it, wraps it as T, calls `reconcile_kind`, then writes
status through the /status subresource only if it changed, retrying conflicts from a fresh
GET. Subclasses implement only `reconcile_kind` (and optionally `finalize_kind`).

Only the leader reconciles (and so only the leader writes): a non-leader keeps its informers
warm and skips keys; on promotion every cached key is queued.

`Controller` connects informers to a `WorkQueue` and runs workers; the exception a
reconcile raises steers the key (see errors.py).
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from knpy.runtime.k8s import metrics, tracing
from knpy.runtime.k8s.client import Client
from knpy.runtime.k8s.errors import ApiError, PermanentError, RequeueAfter, SkipKey
from knpy.runtime.k8s.events import WARNING, Recorder
from knpy.runtime.k8s.informer import Informer, Lister
from knpy.runtime.k8s.resources import Obj, Resource, key_of, split_key
from knpy.runtime.k8s.workqueue import ShutDown, WorkQueue

__all__ = ["Controller", "Reconciler", "Wrapped"]

log = logging.getLogger("knpy.k8s.reconciler")


class Wrapped(Protocol):
    """What a kind wrapper (e.g. knpy.apis Broker) offers: the raw dict it views."""

    raw: Obj


T = TypeVar("T", bound=Wrapped)

STATUS_CONFLICT_RETRIES = 5
_WARNED: set[str] = set()  # kinds whose status writes the server answered unchanged


class Reconciler(Generic[T]):
    resource: Resource

    def __init__(self, client: Client, lister: Lister, resource: Resource,
                 wrap: Callable[[Obj], T], recorder: Recorder, *, name: str = "") -> None:
        self.client = client
        self.lister = lister
        self.resource = resource
        self.wrap = wrap
        self.recorder = recorder
        self.name = name or resource.kind
        self.is_leader = True  # flipped by leader election when it is used

    # ------------------------------------------------------------------ hooks
    async def reconcile_kind(self, obj: T) -> None:
        raise NotImplementedError

    async def finalize_kind(self, obj: T) -> None:
        """Called for objects being deleted (deletionTimestamp set). Default: nothing."""

    async def on_deleted(self, key: str) -> None:
        """The key is gone from the cache. Default: nothing (owner refs GC children)."""

    # ------------------------------------------------------------------ generic half
    async def reconcile(self, key: str) -> None:
        if not self.is_leader:
            return
        ns, name = split_key(key)
        original = self.lister.get(ns or None, name)
        if original is None:
            await self.on_deleted(key)
            return
        raw = copy.deepcopy(original)
        obj = self.wrap(raw)
        init = getattr(obj, "init_conditions", None)
        if init is not None:
            init()
        err: BaseException | None = None
        try:
            if raw["metadata"].get("deletionTimestamp"):
                await self.finalize_kind(obj)
            else:
                await self.reconcile_kind(obj)
        except SkipKey:
            raise  # not ours: write nothing
        except RequeueAfter as exc:
            err = exc
        except Exception as exc:
            err = exc
        if err is None and "generation" in raw["metadata"]:
            raw.setdefault("status", {})["observedGeneration"] = raw["metadata"]["generation"]
        if not raw["metadata"].get("deletionTimestamp"):
            try:
                await self._update_status(original, raw)
            except ApiError as exc:
                if exc.not_found:
                    return  # deleted under us: nothing left to report on
                await self.recorder.event(raw, WARNING, "UpdateFailed",
                                          f"Failed to update status for {name!r}: {exc}")
                raise
        if err is not None:
            if not isinstance(err, RequeueAfter):
                await self.recorder.event(raw, WARNING, "InternalError", str(err))
            raise err

    async def _update_status(self, existing: Obj, desired: Obj) -> None:
        want = desired.get("status")
        for attempt in range(STATUS_CONFLICT_RETRIES):
            if attempt:
                ns = existing["metadata"].get("namespace")
                existing = await self.client.get(self.resource, ns, existing["metadata"]["name"])
                self.lister.observe(existing)
            _keep_transition_times(existing.get("status"), want)
            if existing.get("status") == want:
                return
            fresh = copy.deepcopy(existing)
            fresh["status"] = want
            fresh.setdefault("apiVersion", self.resource.api_version)
            fresh.setdefault("kind", self.resource.kind)
            try:
                answer = await self.client.update_status(self.resource, fresh)
            except ApiError as exc:
                if not exc.conflict or attempt == STATUS_CONFLICT_RETRIES - 1:
                    raise
                continue
            self.lister.observe(answer)
            self._warn_if_dropped(fresh, answer)
            return

    def _warn_if_dropped(self, sent: Obj, answer: Obj) -> None:
        """The server kept the same resourceVersion for a status that differed: it dropped
        what differed (fields its schema does not name), and every reconcile will write it
        again. Said once per kind, naming the fields."""
        if answer.get("metadata", {}).get("resourceVersion") != \
                sent["metadata"].get("resourceVersion") or self.resource.kind in _WARNED:
            return
        have = answer.get("status") or {}
        dropped = sorted(k for k, v in (sent.get("status") or {}).items() if have.get(k) != v)
        _WARNED.add(self.resource.kind)
        why = (f"it dropped status {', '.join(dropped)}: fields the CRD schema does not name"
               if dropped else "the cached copy differed from the server's")
        log.warning("%s status write changed nothing on the server (%s), so every reconcile "
                    "will write it again", self.resource.kind, why)


def _keep_transition_times(stored: Obj | None, want: Obj | None) -> None:
    """A condition that ends a reconcile with the status it had stored keeps the stored
    lastTransitionTime: a reconcile may flip it and back in memory (a Revision's
    ResourcesAvailable goes True from the Deployment, then Unknown from its PodAutoscaler),
    and a new time alone would cost a status write for no change."""
    if not stored or not want:
        return
    before = {c.get("type"): c for c in stored.get("conditions") or []}
    for cond in want.get("conditions") or []:
        old = before.get(cond.get("type"))
        if old is not None and old.get("status") == cond.get("status") \
                and "lastTransitionTime" in old:
            cond["lastTransitionTime"] = old["lastTransitionTime"]


class Controller:
    """Work queue + workers for one reconciler; informers feed it keys."""

    def __init__(self, reconciler: Any, *, name: str = "", workers: int = 2,
                 queue: WorkQueue | None = None) -> None:
        self.reconciler = reconciler
        self.name = name or getattr(reconciler, "name", "controller")
        self.workers = workers
        self.queue = queue or WorkQueue(self.name)
        self.errors = 0
        self._results = {r: metrics.RECONCILES.labels(self.name, r) for r in metrics.RESULTS}
        self._duration = metrics.DURATIONS.labels(self.name)
        metrics.track(self)

    # ------------------------------------------------------------------ feeding
    def enqueue(self, obj: Obj) -> None:
        self.queue.add(key_of(obj))

    def enqueue_key(self, key: str) -> None:
        self.queue.add(key)

    def enqueue_slow(self, key: str) -> None:
        self.queue.add_slow(key)

    def watch(self, informer: Informer, to_keys: Callable[[Obj], list[str]] | None = None
              ) -> None:
        """Queue keys for every add/update/delete on informer (its own key by default)."""
        if to_keys is None:
            informer.on_change(self.enqueue)
        else:
            mapper = to_keys

            def enqueue_mapped(o: Obj) -> None:
                for k in mapper(o):
                    self.queue.add(k)
            informer.on_change(enqueue_mapped)

    def enqueue_all(self, lister: Lister, slow: bool = True) -> None:
        for key in lister.all_keys():
            (self.queue.add_slow if slow else self.queue.add)(key)

    async def resync_every(self, lister: Lister, period: float) -> None:
        """Periodic global resync through the slow lane (catches untracked dependencies)."""
        while True:
            await asyncio.sleep(period)
            self.enqueue_all(lister, slow=True)

    def promote(self, lister: Lister) -> None:
        self.reconciler.is_leader = True
        self.enqueue_all(lister, slow=False)

    def demote(self) -> None:
        self.reconciler.is_leader = False

    # ------------------------------------------------------------------ running
    async def run(self) -> None:
        tasks = [asyncio.create_task(self._worker(), name=f"{self.name}-worker-{i}")
                 for i in range(self.workers)]
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()
            await self.queue.shutdown()

    async def _worker(self) -> None:
        while True:
            try:
                key = await self.queue.get()
            except ShutDown:
                return
            try:
                await self.process(key)
            finally:
                self.queue.done(key)

    async def process(self, key: str) -> None:
        t0 = time.monotonic()
        result = "success"
        tracer = tracing.tracer
        span = None
        if tracer is not None:
            ns, _, name = key.rpartition("/")
            attrs = {"knpy.reconciler": self.name, "knpy.object.name": name}
            if ns:
                attrs["k8s.namespace.name"] = ns
            span = tracer.start(f"reconcile {self.name}", attrs)
        try:
            await self.reconciler.reconcile(key)
        except RequeueAfter as r:
            result = "requeue"
            self.queue.forget(key)
            self.queue.add_after(key, r.seconds)
        except SkipKey:
            result = "skip"
            self.queue.forget(key)
        except PermanentError as exc:
            result = "permanent_error"
            self.errors += 1
            self.queue.forget(key)
            log.error("%s: %s: permanent error, not retrying: %s", self.name, key, exc)
        except asyncio.CancelledError:
            result = ""
            raise
        except Exception as exc:
            result = "error"
            self.errors += 1
            delay = self.queue.add_rate_limited(key)
            log.warning("%s: %s: reconcile failed (retry in %.3fs): %s", self.name, key,
                        delay, exc, exc_info=not isinstance(exc, ApiError))
        else:
            self.queue.forget(key)
        finally:
            if result:  # a cancelled reconcile (shutdown) is not one
                self._results[result].value += 1
                self._duration.observe(time.monotonic() - t0)
            if span is not None:
                tracer.end(span, {"knpy.reconcile.result": result or "cancelled"},
                           result if result in ("error", "permanent_error") else "")
