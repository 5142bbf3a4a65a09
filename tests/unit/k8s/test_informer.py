"""Informer against a scripted API: list, watch, bookmarks, 410 -> relist with a diff."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from knpy.runtime.k8s.errors import ApiError
from knpy.runtime.k8s.informer import Informer
from knpy.runtime.k8s.resources import CONFIGMAPS, Obj
from tests.support.poll import eventually


def cm(name: str, rv: str, ns: str = "default") -> Obj:
    return {"metadata": {"name": name, "namespace": ns, "resourceVersion": rv}}


class ScriptedAPI:
    """LIST answers come from `lists`, WATCH streams from `watches` (one per call)."""

    def __init__(self, lists: list[list[Obj]], watches: list[Any]) -> None:
        self.lists = lists
        self.watches = watches
        self.watch_rvs: list[str] = []
        self.list_calls = 0

    async def list(self, res, ns=None, **kw) -> Obj:
        items = self.lists[min(self.list_calls, len(self.lists) - 1)]
        self.list_calls += 1
        return {"items": [dict(i) for i in items],
                "metadata": {"resourceVersion": str(100 * self.list_calls)}}

    async def watch(self, res, ns, rv, **kw) -> AsyncIterator[Obj]:
        self.watch_rvs.append(rv)
        script = self.watches.pop(0) if self.watches else None
        if script is None:
            await asyncio.sleep(3600)
            return
        if isinstance(script, Exception):
            raise script
        for ev in script:
            if isinstance(ev, Exception):
                raise ev
            yield ev


async def run_until(inf: Informer, cond, within: float = 2.0) -> None:
    task = asyncio.create_task(inf.run())
    try:
        await eventually(cond, within)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_list_then_watch_events_reach_cache_and_handlers() -> None:
    api = ScriptedAPI([[cm("a", "1")]], [[
        {"type": "ADDED", "object": cm("b", "2")},
        {"type": "MODIFIED", "object": cm("a", "3")},
        {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "7"}}},
        {"type": "DELETED", "object": cm("b", "8")},
    ]])
    inf = Informer(api, CONFIGMAPS)
    seen: list[str] = []
    inf.add_handler(lambda o: seen.append(f"add {o['metadata']['name']}"),
                    lambda old, new: seen.append(f"update {new['metadata']['name']}"),
                    lambda o: seen.append(f"delete {o['metadata']['name']}"))
    await run_until(inf, lambda: len(seen) == 4 and len(api.watch_rvs) == 2)
    assert seen == ["add a", "add b", "update a", "delete b"]
    assert inf.lister.all_keys() == ["default/a"]
    assert inf.lister.get("default", "a")["kind"] == "ConfigMap"
    assert inf.bookmarks == 1
    # first watch from the LIST's version; the re-watch resumes from the last event's
    assert api.watch_rvs == ["100", "8"]
    assert inf.relists == 0


async def test_410_on_watch_relists_and_diffs() -> None:
    gone = ApiError(410, "Expired", {"reason": "Expired", "code": 410})
    api = ScriptedAPI([[cm("a", "1"), cm("b", "1")], [cm("a", "5"), cm("c", "5")]], [gone])
    inf = Informer(api, CONFIGMAPS)
    seen: list[str] = []
    inf.add_handler(lambda o: seen.append(f"add {o['metadata']['name']}"),
                    lambda old, new: seen.append(f"update {new['metadata']['name']}"),
                    lambda o: seen.append(f"delete {o['metadata']['name']}"))
    await run_until(inf, lambda: inf.relists == 1 and len(api.watch_rvs) == 2)
    assert seen == ["add a", "add b", "update a", "add c", "delete b"]
    assert sorted(inf.lister.all_keys()) == ["default/a", "default/c"]
    assert api.watch_rvs == ["100", "200"]


async def test_410_error_event_mid_stream_relists() -> None:
    api = ScriptedAPI([[cm("a", "1")]], [[
        {"type": "ADDED", "object": cm("b", "2")},
        {"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired"}},
    ]])
    inf = Informer(api, CONFIGMAPS)
    await run_until(inf, lambda: inf.relists == 1)
    # the relist did not contain b: it was dropped from the cache
    assert inf.lister.all_keys() == ["default/a"]


async def test_other_errors_back_off_and_relist() -> None:
    api = ScriptedAPI([[cm("a", "1")]], [ApiError(500, "boom")])
    inf = Informer(api, CONFIGMAPS)
    await run_until(inf, lambda: inf.relists == 1, within=3)
    assert inf.synced.is_set()


async def test_dropped_connection_rewatches_from_the_last_version_without_relist() -> None:
    api = ScriptedAPI([[cm("a", "1")]], [
        [{"type": "ADDED", "object": cm("b", "7")}, ConnectionResetError("peer reset")],
        [{"type": "ADDED", "object": cm("c", "8")}]])
    inf = Informer(api, CONFIGMAPS)
    await run_until(inf, lambda: inf.lister.get("default", "c") is not None, within=5)
    assert api.watch_rvs[:2] == ["100", "7"]
    assert inf.relists == 0 and api.list_calls == 1


async def test_a_failing_handler_does_not_stop_others() -> None:
    api = ScriptedAPI([[cm("a", "1")]], [])
    inf = Informer(api, CONFIGMAPS)
    got: list[str] = []

    def bad(_o: Obj) -> None:
        raise RuntimeError("handler bug")
    inf.add_handler(bad)
    inf.on_change(lambda o: got.append(o["metadata"]["name"]))
    await run_until(inf, lambda: got == ["a"])


async def test_an_observed_write_is_kept_until_the_watch_catches_up() -> None:
    """A write this process made (rv 105) is cached at once; the watch's older event
    (rv 103) does not put the stale copy back, though handlers still hear of it; rv 105 and later
    events replace it as usual."""
    gate = asyncio.Event()

    class Gated(ScriptedAPI):
        async def watch(self, res, ns, rv, **kw):
            await gate.wait()
            async for ev in super().watch(res, ns, rv, **kw):
                yield ev

    api = Gated([[cm("a", "1")]], [[
        {"type": "MODIFIED", "object": {**cm("a", "103"), "data": {"v": "old"}}},
        {"type": "MODIFIED", "object": {**cm("a", "105"), "data": {"v": "mine"}}},
        {"type": "MODIFIED", "object": {**cm("a", "109"), "data": {"v": "theirs"}}},
    ]])
    inf = Informer(api, CONFIGMAPS)
    seen: list[tuple[str, str]] = []
    inf.add_handler(None, lambda old, new: seen.append(
        (new["metadata"]["resourceVersion"], (new.get("data") or {}).get("v", ""))))
    task = asyncio.create_task(inf.run())
    try:
        await inf.wait_synced(2)
        written = {**cm("a", "105"), "data": {"v": "mine"}}
        inf.lister.observe(written)
        written["data"]["v"] = "mutated by the caller later"
        assert inf.lister.get("default", "a")["data"] == {"v": "mine"}, "a copy is kept"
        gate.set()
        await eventually(lambda: len(seen) == 3, 2)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert seen == [("105", "mine"), ("105", "mine"), ("109", "theirs")]
    assert inf.lister.get("default", "a")["data"] == {"v": "theirs"}


def test_observe_ignores_what_the_watch_passed_what_it_does_not_hold_and_odd_versions() -> None:
    lister = Informer(ScriptedAPI([[]], []), CONFIGMAPS).lister
    lister.put(cm("a", "4"))
    lister.saw("6")
    lister.observe(cm("a", "5"))  # the watch is past it: that event came (or a delete did)
    assert lister.get("default", "a")["metadata"]["resourceVersion"] == "4"
    lister.observe(cm("b", "7"))  # not cached: maybe outside the informer's selector
    assert lister.get("default", "b") is None
    lister.observe(cm("a", "x7"))  # not etcd's numbers: no order to trust
    assert lister.get("default", "a")["metadata"]["resourceVersion"] == "4"
    lister.observe(cm("a", "7"))
    assert lister.get("default", "a")["metadata"]["resourceVersion"] == "7"
