"""Reconciler[T] generic half and Controller steering, against FakeClient."""

from __future__ import annotations

import asyncio

import pytest

from knpy.runtime.k8s import (
    ApiError,
    Controller,
    MemoryRecorder,
    PermanentError,
    Reconciler,
    RequeueAfter,
    Resource,
)
from knpy.runtime.k8s.informer import Lister
from knpy.runtime.k8s.testing import FakeClient
from knpy.runtime.k8s.workqueue import ExponentialRateLimiter, WorkQueue
from tests.support.poll import eventually

WIDGETS = Resource("example.dev", "v1", "widgets", "Widget")


class View:
    def __init__(self, raw: dict) -> None:
        self.raw = raw


class WidgetReconciler(Reconciler[View]):
    def __init__(self, client, lister, behaviour=None) -> None:
        super().__init__(client, lister, WIDGETS, View, MemoryRecorder())
        self.behaviour = behaviour or (lambda v: None)
        self.calls = 0

    async def reconcile_kind(self, obj: View) -> None:
        self.calls += 1
        obj.raw.setdefault("status", {})["seen"] = obj.raw["spec"]["n"]
        self.behaviour(obj)


def world(status: dict | None = None) -> tuple[FakeClient, Lister, dict]:
    c = FakeClient()
    w = {"metadata": {"name": "w", "namespace": "ns", "generation": 3}, "spec": {"n": 7}}
    if status is not None:
        w["status"] = status
    seeded = c.seed(WIDGETS, w)
    lister = Lister(WIDGETS)
    lister.put(seeded)
    return c, lister, seeded


async def test_status_written_via_status_subresource_once() -> None:
    c, lister, _ = world()
    cached = lister.get("ns", "w")
    r = WidgetReconciler(c, lister)
    await r.reconcile("ns/w")
    [w] = c.writes()
    assert w.verb == "update_status"
    assert w.obj["status"] == {"seen": 7, "observedGeneration": 3}
    assert cached.get("status") is None, "the cached object is never mutated"


async def test_a_reconcile_before_the_watch_event_reads_its_own_status_write() -> None:
    """The write is cached as the server answered it: running again before the watch
    delivers it writes nothing, where a stale copy would have cost a 409, a GET and a PUT."""
    c, lister, _ = world()
    r = WidgetReconciler(c, lister)
    await r.reconcile("ns/w")
    assert lister.get("ns", "w")["status"] == {"seen": 7, "observedGeneration": 3}
    await r.reconcile("ns/w")
    assert [a.verb for a in c.actions] == ["update_status"]


async def test_no_write_when_status_unchanged() -> None:
    c, lister, _ = world({"seen": 7, "observedGeneration": 3})
    await WidgetReconciler(c, lister).reconcile("ns/w")
    assert c.writes() == []


async def test_conflict_retries_from_a_fresh_get() -> None:
    c, lister, _ = world()
    c.fail("update_status", "widgets",
           ApiError(409, "Conflict", {"reason": "Conflict"}), times=2)
    await WidgetReconciler(c, lister).reconcile("ns/w")
    verbs = [a.verb for a in c.actions]
    assert verbs == ["update_status", "get", "update_status", "get", "update_status"]
    assert c.store[("widgets", "ns", "w")]["status"]["seen"] == 7


async def test_missing_key_is_not_an_error() -> None:
    c, lister, _ = world()
    await WidgetReconciler(c, lister).reconcile("ns/other")
    assert c.actions == []


async def test_failure_still_writes_status_and_emits_event() -> None:
    c, lister, _ = world()

    def boom(_v: View) -> None:
        raise RuntimeError("downstream broke")
    r = WidgetReconciler(c, lister, boom)
    with pytest.raises(RuntimeError):
        await r.reconcile("ns/w")
    [w] = c.writes()
    assert w.obj["status"] == {"seen": 7}, "no observedGeneration bump on failure"
    assert r.recorder.events == ["Warning InternalError downstream broke"]


async def test_non_leader_does_nothing() -> None:
    c, lister, _ = world()
    r = WidgetReconciler(c, lister)
    r.is_leader = False
    await r.reconcile("ns/w")
    assert r.calls == 0 and c.actions == []


def idle(ctl: Controller) -> bool:
    """Nothing queued, being processed or scheduled for later: no reconcile can follow."""
    q = ctl.queue
    return len(q) == 0 and not q.processing and not q.pending_after()


async def _drive(behaviour, until) -> tuple[Controller, WidgetReconciler]:
    """Run a one-worker controller on ns/w until `until(ctl, rec)` holds."""
    c, lister, _ = world()
    r = WidgetReconciler(c, lister, behaviour)
    ctl = Controller(r, workers=1,
                     queue=WorkQueue(rate_limiter=ExponentialRateLimiter(0.01, 0.04)))
    ctl.enqueue_key("ns/w")
    task = asyncio.create_task(ctl.run())
    try:
        await eventually(lambda: until(ctl, r), 10, what="controller progress")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return ctl, r


async def test_controller_retries_plain_errors_with_backoff() -> None:
    def flaky(_v: View) -> None:
        raise RuntimeError("transient")
    ctl, r = await _drive(flaky, lambda ctl, r: ctl.errors >= 4)
    assert r.calls >= 4, "retried"
    assert ctl.queue.retries("ns/w") >= 3, "with growing per-key backoff"


async def test_controller_does_not_retry_permanent_errors() -> None:
    def perm(_v: View) -> None:
        raise PermanentError("bad spec")
    ctl, r = await _drive(perm, lambda ctl, r: ctl.errors == 1 and idle(ctl))
    assert r.calls == 1
    assert ctl.queue.retries("ns/w") == 0 and len(ctl.queue) == 0


async def test_controller_requeue_after() -> None:
    def later(_v: View) -> None:
        raise RequeueAfter(0.05)
    ctl, _ = await _drive(later, lambda ctl, r: r.calls >= 3)
    assert ctl.errors == 0, "a requeue is not an error"
    assert ctl.queue.retries("ns/w") == 0, "and does not grow the backoff"


async def test_controller_success_forgets_backoff() -> None:
    ctl, r = await _drive(None, lambda ctl, r: r.calls == 1 and idle(ctl))
    assert r.calls == 1 and ctl.queue.retries("ns/w") == 0


async def test_a_condition_flipped_and_back_in_memory_keeps_its_stored_time() -> None:
    stored = {"seen": 7, "observedGeneration": 3, "conditions": [
        {"type": "Ready", "status": "Unknown", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
    c, lister, _ = world(stored)

    def flip(v: View) -> None:  # what a reconcile's in-memory True-then-Unknown leaves
        v.raw["status"]["conditions"] = [
            {"type": "Ready", "status": "Unknown", "lastTransitionTime": "2026-06-01T00:00:00Z"}]

    await WidgetReconciler(c, lister, flip).reconcile("ns/w")
    assert c.writes() == []


async def test_a_condition_that_changes_status_gets_its_new_time() -> None:
    stored = {"seen": 7, "observedGeneration": 3, "conditions": [
        {"type": "Ready", "status": "Unknown", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
    c, lister, _ = world(stored)

    def ready(v: View) -> None:
        v.raw["status"]["conditions"] = [
            {"type": "Ready", "status": "True", "lastTransitionTime": "2026-06-01T00:00:00Z"}]

    await WidgetReconciler(c, lister, ready).reconcile("ns/w")
    [w] = c.writes()
    assert w.obj["status"]["conditions"] == [
        {"type": "Ready", "status": "True", "lastTransitionTime": "2026-06-01T00:00:00Z"}]


async def test_a_status_field_the_server_drops_is_named_once(caplog) -> None:
    from knpy.runtime.k8s import reconciler  # its once-per-kind memory

    reconciler._WARNED.discard("Widget")
    c, lister, _ = world({"observedGeneration": 3})
    # what a structural schema without `seen` does: the object comes back unchanged
    c.react("update_status", "widgets", lambda a: c.store[("widgets", "ns", "w")])
    with caplog.at_level("WARNING", logger="knpy.k8s.reconciler"):
        await WidgetReconciler(c, lister).reconcile("ns/w")
        await WidgetReconciler(c, lister).reconcile("ns/w")
    warned = [r.getMessage() for r in caplog.records]
    assert warned == ["Widget status write changed nothing on the server (it dropped status "
                      "seen: fields the CRD schema does not name), so every reconcile will "
                      "write it again"]
    assert len(c.writes("update_status")) == 2, "the cache still differs: it writes again"
