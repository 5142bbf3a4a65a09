"""Proxy-core fixtures: every test here runs once on uvloop and once on the default loop,
against a real upstream (the aiohttp user app) on a real loopback socket."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import pytest
import uvloop
from aiohttp import web

from knpy.runtime.proxy import Exchange, ProxyOptions, Server, UpstreamPool
from tests.apps.userapp import make_app
from tests.support.poll import eventually


def pytest_asyncio_loop_factories(config, item) -> Mapping[str, object]:  # type: ignore[no-untyped-def]
    return {"uvloop": uvloop.new_event_loop, "asyncio": asyncio.new_event_loop}


@dataclass
class Upstream:
    port: int
    runner: web.AppRunner


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    runner = web.AppRunner(make_app(0), handle_signals=False, access_log=None,
                           handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield Upstream(port, runner)
    await runner.cleanup()


class Forward:
    """The smallest handler: proxy everything to one pool, remember finished exchanges."""

    def __init__(self, pool: UpstreamPool) -> None:
        self.pool = pool
        self.done: list[Exchange] = []

    def handle(self, ex: Exchange) -> None:
        ex.on_done = self.done.append
        ex.forward(self.pool)


@dataclass
class Proxy:
    server: Server
    pool: UpstreamPool
    handler: Forward
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


async def start_proxy(upstream_port: int, options: ProxyOptions | None = None) -> Proxy:
    pool = UpstreamPool("127.0.0.1", upstream_port)
    handler = Forward(pool)
    server = Server(handler, options)
    port = await server.listen("127.0.0.1", 0)
    return Proxy(server, pool, handler, port)


@pytest.fixture
async def proxy(upstream: Upstream) -> AsyncIterator[Proxy]:
    p = await start_proxy(upstream.port)
    yield p
    await p.server.close()
    p.pool.close()


@pytest.fixture
def make_proxy(upstream: Upstream):  # type: ignore[no-untyped-def]
    """Factory for a proxy with custom options (closed at teardown)."""
    made: list[Proxy] = []

    async def make(options: ProxyOptions | None = None, port: int | None = None) -> Proxy:
        p = await start_proxy(port or upstream.port, options)
        made.append(p)
        return p

    yield make
    for p in made:
        p.pool.close()


@pytest.fixture(autouse=True)
async def no_loop_errors() -> AsyncIterator[None]:
    """Fail a test if anything reached the loop's exception handler, or if a task is still
    pending once every other fixture is torn down (uvloop's _testbase habit)."""
    loop = asyncio.get_running_loop()
    errors: list[dict] = []
    loop.set_exception_handler(lambda _loop, ctx: errors.append(ctx))
    yield

    def pending() -> set[asyncio.Task]:
        return asyncio.all_tasks() - {asyncio.current_task()}
    with contextlib.suppress(AssertionError):  # let cancelled tasks run their last step
        await eventually(lambda: not pending(), 0.2, every=0.01)
    assert not errors, f"loop exception handler got: {errors}"
    assert not pending(), f"tasks still pending after the test: {pending()}"
