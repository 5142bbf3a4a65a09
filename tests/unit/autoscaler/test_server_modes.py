"""The revisions API is read-only in cluster mode: no PUT or DELETE can replace a
PodAutoscaler's Deployment target or drop it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp

from knpy.apis.autoscaling.config import AutoscalerConfig
from knpy.autoscaler.multiscaler import Multiscaler, RevisionSpec
from knpy.autoscaler.scaletarget import StaticScaleTarget
from knpy.autoscaler.server import EndpointsPublisher, make_server

REG = {"pods": ["127.0.0.1:9"]}


@asynccontextmanager
async def api(ms: Multiscaler, **kw: bool) -> AsyncIterator[tuple[aiohttp.ClientSession, str]]:
    """The API listening on a free loopback port, and a client session for it."""
    server = make_server(ms, EndpointsPublisher(ms, None), **kw)
    port = await server.listen("127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as c:
            yield c, f"http://127.0.0.1:{port}"
    finally:
        await server.close()


async def test_cluster_mode_api_is_read_only() -> None:
    async with aiohttp.ClientSession() as session:
        ms = Multiscaler(AutoscalerConfig(), session)
        target = StaticScaleTarget([])
        await ms.register(RevisionSpec("ns", "r"), target)
        async with api(ms, writable=False) as (c, base):
            assert (await c.put(f"{base}/api/v1/revisions/ns/r", json=REG)).status == 405
            assert (await c.delete(f"{base}/api/v1/revisions/ns/r")).status == 405
            assert (await c.get(f"{base}/api/v1/revisions/ns/r")).status == 200
        assert ms.revisions["ns/r"].target is target
        await ms.close()


async def test_standalone_api_registers() -> None:
    async with aiohttp.ClientSession() as session:
        ms = Multiscaler(AutoscalerConfig(), session)
        async with api(ms) as (c, base):
            assert (await c.put(f"{base}/api/v1/revisions/ns/r", json=REG)).status == 201
            assert (await c.delete(f"{base}/api/v1/revisions/ns/r")).status == 204
        assert ms.revisions == {}
        await ms.close()
