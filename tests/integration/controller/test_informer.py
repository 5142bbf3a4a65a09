"""Informers against a real API server: list+watch, bookmarks, 410 -> relist."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from knpy.runtime.k8s import CONFIGMAPS, EVENTS, ApiError, Client, Informer
from tests.support.cluster import KubeAPI
from tests.support.poll import eventually

pytestmark = pytest.mark.timeout(120)


def cm(ns: str, name: str, **data: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": ns}, "data": data}


class Recorder:
    def __init__(self, inf: Informer) -> None:
        self.seen: list[str] = []
        inf.add_handler(lambda o: self.seen.append(f"add {o['metadata']['name']}"),
                        lambda _o, n: self.seen.append(f"update {n['metadata']['name']}"),
                        lambda o: self.seen.append(f"delete {o['metadata']['name']}"))


async def stop(task: asyncio.Task) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_list_watch_and_bookmarks(client: Client, namespace: str) -> None:
    await client.create(CONFIGMAPS, cm(namespace, "before"))
    inf = Informer(client, CONFIGMAPS, namespace=namespace, watch_timeout=4)
    rec = Recorder(inf)
    task = asyncio.create_task(inf.run())
    try:
        await inf.wait_synced(10)
        assert rec.seen == ["add before"]
        made = await client.create(CONFIGMAPS, cm(namespace, "after", a="1"))
        made["data"] = {"a": "2"}
        await client.update(CONFIGMAPS, made)
        await client.delete(CONFIGMAPS, namespace, "before")
        await eventually(lambda: len(rec.seen) == 4, 10, what="watch events")
        assert rec.seen == ["add before", "add after", "update after", "delete before"]
        assert inf.lister.get(namespace, "after")["data"] == {"a": "2"}
        # the API server sends a bookmark shortly before a watch's timeout (4-8 s here)
        await eventually(lambda: inf.bookmarks >= 1, 20, what="a BOOKMARK event")
        assert inf.relists == 0, "watch timeouts resume from the bookmark, no relist"
    finally:
        await stop(task)


async def compact_etcd(api: KubeAPI) -> int:
    """Compact etcd to its newest revision (etcd's v3 JSON gateway; no etcdctl needed)."""
    url = api.etcd_url
    async with aiohttp.ClientSession() as s:
        async with s.post(f"{url}/v3/kv/range", json={"key": "AA==", "limit": 1}) as r:
            rev = int((await r.json())["header"]["revision"])
        async with s.post(f"{url}/v3/kv/compaction",
                          json={"revision": rev, "physical": True}) as r:
            assert r.status == 200, await r.text()
    return rev


def event(ns: str, name: str, reason: str = "Test") -> dict:
    return {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "namespace": ns},
            "involvedObject": {"kind": "ConfigMap", "name": "x", "namespace": ns},
            "reason": reason, "message": name, "type": "Normal"}


# core/v1 Events have no watch cache in the API server (1.20 disables it for them), so
# their watches are served by etcd itself: after a compaction, an older resourceVersion
# is really gone. (ConfigMaps would be answered from the in-memory watch cache.)

async def test_watch_from_a_compacted_version_gets_410(
        kube_apiserver: KubeAPI, client: Client, namespace: str) -> None:
    first = await client.create(EVENTS, event(namespace, "e0"))
    old_rv = first["metadata"]["resourceVersion"]
    for i in range(1, 4):
        await client.create(EVENTS, event(namespace, f"e{i}"))
    await compact_etcd(kube_apiserver)
    got: list[dict] = []
    with pytest.raises(ApiError) as ei:
        async for ev in client.watch(EVENTS, namespace, old_rv, timeout_seconds=5):
            got.append(ev)
            if ev["type"] == "ERROR":
                st = ev["object"]
                raise ApiError(int(st["code"]), st.get("reason", ""), st)
    assert ei.value.gone, ei.value
    assert [e["type"] for e in got] == ["ERROR"], "no stale events before the 410"


async def test_informer_relists_after_410_and_reports_what_it_missed(
        kube_apiserver: KubeAPI, client: Client, namespace: str) -> None:
    for name in ("keep", "victim", "changed"):
        await client.create(EVENTS, event(namespace, name))
    inf = Informer(client, EVENTS, namespace=namespace)
    rec = Recorder(inf)
    task = asyncio.create_task(inf.run())
    await inf.wait_synced(10)
    await stop(task)  # "disconnected": the cache and its resourceVersion are kept
    assert sorted(rec.seen) == ["add changed", "add keep", "add victim"]
    rec.seen.clear()

    await client.delete(EVENTS, namespace, "victim")
    await client.create(EVENTS, event(namespace, "newcomer"))
    obj = await client.get(EVENTS, namespace, "changed")
    obj["message"] = "changed while away"
    await client.update(EVENTS, obj)
    await compact_etcd(kube_apiserver)  # the informer's version is now history

    task = asyncio.create_task(inf.run())  # resumes from its old version -> 410 -> relist
    try:
        await eventually(lambda: inf.relists == 1, 15, what="a relist after 410")
        assert sorted(rec.seen) == ["add newcomer", "delete victim", "update changed"]
        assert sorted(k.split("/")[1] for k in inf.lister.all_keys()) == [
            "changed", "keep", "newcomer"]
        assert inf.lister.get(namespace, "changed")["message"] == "changed while away"
        # and it keeps watching from the relisted version
        await client.create(EVENTS, event(namespace, "later"))
        await eventually(lambda: "add later" in rec.seen, 10, what="watch after relist")
        assert inf.relists == 1
    finally:
        await stop(task)
