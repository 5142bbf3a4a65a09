"""A real HTTP sink on 127.0.0.1 that records the CloudEvents it receives."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from knpy.runtime.cloudevents import CloudEvent, from_http


@dataclass
class Sink:
    url: str
    events: list[CloudEvent] = field(default_factory=list)
    status: int = 202
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait_for(self, n: int, within: float = 5.0) -> list[CloudEvent]:
        async def enough() -> None:
            while len(self.events) < n:
                self.arrived.clear()
                await self.arrived.wait()
        await asyncio.wait_for(enough(), within)
        return self.events


@pytest.fixture
async def sink() -> AsyncIterator[Sink]:
    s = Sink("")

    async def handle(req: web.Request) -> web.Response:
        body = await req.read()
        if s.status < 300:
            s.events.append(from_http(req.headers.items(), body))
            s.arrived.set()
        return web.Response(status=s.status)

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    s.url = f"http://127.0.0.1:{port}/events"
    try:
        yield s
    finally:
        await runner.cleanup()
