"""Send CloudEvents to a sink over HTTP (binary mode), with a bounded retry on transient
failures (connection errors, 429, 5xx) and counters for tests and logs."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import aiohttp

from knpy.runtime.cloudevents import CloudEvent, to_binary

__all__ = ["Sender"]

log = logging.getLogger("knpy.sources.sender")


@dataclass
class Stats:
    sent: int = 0
    failed: int = 0


class Sender:
    def __init__(self, *, timeout: float = 10.0, retries: int = 2,
                 backoff: float = 0.2) -> None:
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.retries = retries
        self.backoff = backoff
        self.stats = Stats()
        self._session: aiohttp.ClientSession | None = None

    async def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def send(self, sink: str, event: CloudEvent) -> bool:
        headers, body = to_binary(event)
        s = await self.session()
        last = ""
        for attempt in range(1 + self.retries):
            if attempt:
                await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                async with s.post(sink, data=body, headers=headers) as resp:
                    await resp.read()
                    if 200 <= resp.status < 300:
                        self.stats.sent += 1
                        return True
                    last = f"HTTP {resp.status}"
                    if resp.status != 429 and resp.status < 500:
                        break  # the sink refused it: retrying will not help
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                last = repr(exc)
        self.stats.failed += 1
        log.warning("event %s (%s) to %s failed: %s", event.id, event.type, sink, last)
        return False
