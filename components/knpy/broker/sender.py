"""One HTTP delivery of an event to a subscriber or dead-letter sink, and what came back."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import aiohttp

from knpy.runtime import cloudevents as ce
from knpy.runtime.proxy.client import HTTPError, Pool


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    status: int | None  # None: no response (connection error, timeout)
    body: bytes = b""
    reply: ce.CloudEvent | None = None
    retry_after: str | None = None
    error: str = ""


class Sender:
    """POSTs in binary mode (or structured, for `delivery.format: json`): http:// over
    knpy's small keep-alive client (the hot path), anything else over aiohttp (a scheme it
    cannot send, such as `bad://uri`, is a failed delivery like a refused connection)."""

    def __init__(self, max_body: int) -> None:
        self.max_body = max_body
        self._session: aiohttp.ClientSession | None = None
        self._pool = Pool(resend_stale=True)  # deliveries are at-least-once

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=30, ttl_dns_cache=60)
        self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False,
                                              skip_auto_headers=("User-Agent",))

    async def close(self) -> None:
        self._pool.close()
        if self._session is not None:
            await self._session.close()

    async def send(self, url: str, event: ce.CloudEvent, extra: Iterable[tuple[str, str]],
                   time_limit: float, *, structured: bool = False) -> Outcome:
        """POST the event; a 2xx with a CloudEvent (other than 202) is a reply, a 2xx with a
        non-empty body that is not a CloudEvent is a failure."""
        headers, body = ce.to_structured(event) if structured else ce.to_binary(event)
        headers.extend(extra)
        if url.startswith("http://"):
            try:
                resp = await self._pool.post(url, headers, body, time_limit)
            except HTTPError as e:
                return Outcome(False, None, error=str(e))
            status, rbody, rheaders = resp.status, resp.body, resp.headers
            retry_after = resp.header("Retry-After")
            content_type = resp.header("Content-Type")
        else:
            assert self._session is not None
            try:
                async with self._session.post(
                        url, data=body, headers=headers,
                        timeout=aiohttp.ClientTimeout(total=time_limit)) as r:
                    status = r.status
                    rbody = await r.content.read(self.max_body + 1)
                    rheaders = list(r.headers.items())
                    retry_after = r.headers.get("Retry-After")
                    content_type = r.headers.get("Content-Type")
            except (TimeoutError, aiohttp.ClientError, OSError) as e:
                return Outcome(False, None, error=repr(e))
        if not 200 <= status <= 299:
            return Outcome(False, status, rbody, retry_after=retry_after)
        if status == 202:
            return Outcome(True, status)  # Accepted: never a reply (spec), body ignored
        mode = ce.detect_mode(content_type)
        if mode is ce.Mode.STRUCTURED or ce.has_binary_attributes(rheaders):
            if len(rbody) > self.max_body:
                return Outcome(False, status, rbody, error="reply larger than the limit")
            try:
                return Outcome(True, status, reply=ce.from_http(rheaders, rbody))
            except ce.CloudEventError as e:
                return Outcome(False, status, rbody, error=f"invalid reply: {e}")
        if rbody:
            return Outcome(False, status, rbody, error="2xx body is not a CloudEvent")
        return Outcome(True, status)
