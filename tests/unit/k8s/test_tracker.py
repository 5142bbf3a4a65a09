"""Tracker: a change to a referenced object re-queues every key that tracks it."""

from __future__ import annotations

import asyncio

from knpy.runtime.k8s import Discovery, Resource, Tracker
from tests.support.poll import eventually

KSVC = Resource("serving.knative.dev", "v1", "services", "Service")


class API:
    """LIST gives one ksvc; WATCH then reports it MODIFIED once and idles."""

    def __init__(self) -> None:
        self.watched: list[str] = []

    async def list(self, res, ns=None, **kw):
        return {"items": [{"metadata": {"name": "sink", "namespace": "ns",
                                        "resourceVersion": "1"}}],
                "metadata": {"resourceVersion": "1"}}

    async def request(self, method, path, **kw):
        from knpy.runtime.k8s import ApiError
        raise ApiError(404, "NotFound")  # discovery: nothing else is served

    async def watch(self, res, ns, rv, **kw):
        self.watched.append(res.plural)
        if len(self.watched) == 1:
            yield {"type": "MODIFIED", "object": {"metadata": {
                "name": "sink", "namespace": "ns", "resourceVersion": "2"},
                "status": {"address": {"url": "http://sink"}}}}
            yield {"type": "ADDED", "object": {"metadata": {
                "name": "other", "namespace": "ns", "resourceVersion": "3"}}}
        await asyncio.sleep(3600)


async def test_changes_requeue_trackers_once_per_kind_informer() -> None:
    api = API()
    d = Discovery(api)
    d.register(KSVC)
    queued: list[str] = []
    tr = Tracker(api, d, queued.append)
    try:
        assert await tr.track("serving.knative.dev/v1", "Service", "ns", "sink", "ns/t1")
        assert await tr.track("serving.knative.dev/v1", "Service", "ns", "sink", "ns/t2")
        assert not await tr.track("example.dev/v1", "Unknown", "ns", "x", "ns/t3"), \
            "kinds the server does not serve cannot be tracked"
        await eventually(lambda: len(queued) >= 4, 2, what="re-queues")
        # initial ADD and the MODIFIED, each for both trackers; "other" is not tracked
        assert queued == ["ns/t1", "ns/t2", "ns/t1", "ns/t2"]
        assert len(tr.informers) == 1 and api.watched == ["services"]
        tr.forget("ns/t1")
        assert tr.tracking("ns/t1") == [] and len(tr.tracking("ns/t2")) == 1
    finally:
        await tr.close()
