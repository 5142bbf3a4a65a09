"""The revisions API is read-only in cluster mode: no PUT or DELETE can replace a
PodAutoscaler's Deployment target or drop it."""

from __future__ import annotations

import aiohttp
from aiohttp.test_utils import TestClient, TestServer

from knpy.apis.autoscaling.config import AutoscalerConfig
from knpy.autoscaler.multiscaler import Multiscaler, RevisionSpec
from knpy.autoscaler.scaletarget import StaticScaleTarget
from knpy.autoscaler.server import EndpointsPublisher, make_app

REG = {"pods": ["127.0.0.1:9"]}


async def test_cluster_mode_api_is_read_only() -> None:
    async with aiohttp.ClientSession() as session:
        ms = Multiscaler(AutoscalerConfig(), session)
        target = StaticScaleTarget([])
        await ms.register(RevisionSpec("ns", "r"), target)
        app = make_app(ms, EndpointsPublisher(ms, None), writable=False)
        async with TestClient(TestServer(app)) as c:
            assert (await c.put("/api/v1/revisions/ns/r", json=REG)).status == 405
            assert (await c.delete("/api/v1/revisions/ns/r")).status == 405
            assert (await c.get("/api/v1/revisions/ns/r")).status == 200
        assert ms.revisions["ns/r"].target is target
        await ms.close()


async def test_standalone_api_registers() -> None:
    async with aiohttp.ClientSession() as session:
        ms = Multiscaler(AutoscalerConfig(), session)
        async with TestClient(TestServer(make_app(ms, EndpointsPublisher(ms, None)))) as c:
            assert (await c.put("/api/v1/revisions/ns/r", json=REG)).status == 201
            assert (await c.delete("/api/v1/revisions/ns/r")).status == 204
        assert ms.revisions == {}
        await ms.close()
