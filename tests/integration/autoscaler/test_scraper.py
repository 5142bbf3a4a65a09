"""The scraper against real HTTP servers on 127.0.0.1: good pods, bad pods, sampling."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
from aiohttp import web

from knpy.autoscaler.scraper import MAX_STAT_BYTES, ScrapeError, Scraper
from knpy.runtime.contract.stat import CONTENT_TYPE, Stat, encode_stat
from tests.support.procs import free_port

Handler = Callable[[web.Request], web.StreamResponse]


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], str]]:
    runners: list[web.AppRunner] = []

    async def start(handler: Handler) -> str:
        app = web.Application()
        app.router.add_get("/metrics", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        runners.append(runner)
        return f"http://127.0.0.1:{port}/metrics"

    yield start  # type: ignore[misc]
    for r in runners:
        await r.cleanup()


def stat_handler(concurrency: float, seen: list[str] | None = None) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        if seen is not None:
            seen.append(request.headers.get("Accept", ""))
        return web.Response(body=encode_stat(Stat("p", concurrency, 0.5, 10.0)),
                            content_type=CONTENT_TYPE)
    return handler


async def test_scaled_mean_over_pods_that_answer(serve) -> None:
    accepts: list[str] = []
    good = [await serve(stat_handler(c, accepts)) for c in (2.0, 4.0)]

    async def broken(_: web.Request) -> web.Response:
        return web.Response(status=500)

    bad = await serve(broken)
    async with aiohttp.ClientSession() as s:
        got = await Scraper(s).scrape([*good, bad])
    # Mean of the two good ones (3.0) scaled back by the 3 ready pods.
    assert got is not None and got.average_concurrent_requests == pytest.approx(9.0)
    assert got.average_proxied_concurrent_requests == pytest.approx(1.5)
    assert accepts == [CONTENT_TYPE, CONTENT_TYPE]


async def test_no_pods_is_no_stat(serve) -> None:
    async with aiohttp.ClientSession() as s:
        assert await Scraper(s).scrape([]) is None


@pytest.mark.parametrize("kind", ["json", "truncated", "huge", "status", "refused"])
async def test_bad_pods_raise_with_the_reason(serve, kind: str) -> None:
    async def handler(_: web.Request) -> web.Response:
        if kind == "json":
            return web.json_response({"average_concurrent_requests": 1})
        if kind == "truncated":
            return web.Response(body=encode_stat(Stat("p", 1.0))[:-3], content_type=CONTENT_TYPE)
        if kind == "huge":
            return web.Response(body=b"\x00" * (MAX_STAT_BYTES + 10), content_type=CONTENT_TYPE)
        return web.Response(status=503, text="draining")

    url = f"http://127.0.0.1:{free_port()}/metrics" if kind == "refused" else await serve(handler)
    reason = {"json": "Content-Type", "truncated": "truncated", "huge": "larger than",
              "status": "status 503", "refused": "no pod answered"}[kind]
    async with aiohttp.ClientSession() as s:
        with pytest.raises(ScrapeError, match=reason):
            await Scraper(s).scrape([url])


async def test_large_revisions_are_sampled(serve) -> None:
    hits: list[str] = []
    urls = [await serve(stat_handler(1.0, hits)) for _ in range(10)]
    async with aiohttp.ClientSession() as s:
        got = await Scraper(s, rng=random.Random(7)).scrape(urls)
    assert len(hits) == 7  # sample size for N = 10
    assert got is not None and got.average_concurrent_requests == pytest.approx(10.0)
