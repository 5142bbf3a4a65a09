"""Scrape queue-proxies' `:9090/metrics` (protobuf Stat), sampling large revisions.

Knative scrapes a random sample of the ready pods each second, sized by the population
formula n = N if N <= 3 else ceil(N*X / (N+X-1)), X = 15.3664 (a 95 % confidence, 10 %
error sample), averages each field over the pods that answered and scales it back up by N
to estimate the revision total.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Sequence

import aiohttp

from knpy.runtime.contract.stat import CONTENT_TYPE, Stat, WireError, decode_stat

__all__ = ["SAMPLE_X", "ScrapeError", "Scraper", "average_scaled", "sample_size"]

SAMPLE_X = 15.3664
SCRAPE_TIMEOUT = 1.0  # seconds: a scrape must finish within the 1 s scrape period
MAX_STAT_BYTES = 64 * 1024  # a Stat is ~100 bytes; refuse to buffer a runaway body


class ScrapeError(Exception):
    """No pod in the sample answered with a valid Stat."""


def sample_size(population: int) -> int:
    if population <= 3:
        return max(population, 0)
    return math.ceil(population * SAMPLE_X / (population + SAMPLE_X - 1))


def average_scaled(stats: Sequence[Stat], population: int) -> Stat:
    """The field-wise mean of `stats`, multiplied by `population` (the ready pod count)."""
    n = len(stats)
    factor = population / n
    return Stat(
        pod_name="service-scraper",
        average_concurrent_requests=sum(s.average_concurrent_requests for s in stats) * factor,
        average_proxied_concurrent_requests=sum(
            s.average_proxied_concurrent_requests for s in stats) * factor,
        request_count=sum(s.request_count for s in stats) * factor,
        proxied_request_count=sum(s.proxied_request_count for s in stats) * factor,
        process_uptime=max(s.process_uptime for s in stats),
        timestamp=max(s.timestamp for s in stats),
    )


class Scraper:
    """Fetches Stats over HTTP with one shared aiohttp session."""

    def __init__(self, session: aiohttp.ClientSession, rng: random.Random | None = None,
                 timeout: float = SCRAPE_TIMEOUT) -> None:
        self._session = session
        self._rng = rng or random.Random()
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def fetch(self, url: str) -> Stat:
        headers = {"Accept": CONTENT_TYPE}
        async with self._session.get(url, headers=headers, timeout=self._timeout) as resp:
            body = await resp.content.read(MAX_STAT_BYTES + 1)
            if len(body) > MAX_STAT_BYTES:
                raise ScrapeError(f"GET {url}: body larger than {MAX_STAT_BYTES} bytes")
            if resp.status != 200:
                raise ScrapeError(f"GET {url}: status {resp.status}")
            ctype = resp.headers.get("Content-Type", "")
            if not ctype.startswith(CONTENT_TYPE):
                raise ScrapeError(f"GET {url}: Content-Type {ctype!r}, want {CONTENT_TYPE}")
        try:
            return decode_stat(body)
        except WireError as exc:
            raise ScrapeError(f"GET {url}: {exc}") from None

    async def scrape(self, urls: Sequence[str]) -> Stat | None:
        """The revision's estimated total Stat; None when it has no ready pods.

        Raises ScrapeError when every sampled pod failed.
        """
        population = len(urls)
        if population == 0:
            return None
        sample = self._rng.sample(list(urls), sample_size(population))
        results = await asyncio.gather(*(self.fetch(u) for u in sample), return_exceptions=True)
        good = [r for r in results if isinstance(r, Stat)]
        if not good:
            errors = "; ".join(str(r) or type(r).__name__ for r in results)
            raise ScrapeError(f"no pod answered ({population} ready): {errors}")
        return average_scaled(good, population)
