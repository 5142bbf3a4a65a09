"""Broker ingress: accept CloudEvents over HTTP at /<namespace>/<broker> and store them.

Status codes (docs/broker.md has the table): OPTIONS 200 with the WebHook headers, other
non-POST 405, `POST /` 404, a path that is not /ns/name 400, not a (valid) CloudEvent or a
batch 400, TTL exhausted 400, over the size limit 413, unknown broker 404, stored 202,
store unavailable 503. 202 is sent only after the store confirmed the write.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from knpy.broker import admission, record
from knpy.broker.store import EventStore, StoreUnavailable
from knpy.runtime import cloudevents as ce
from knpy.runtime.contract.eventing import EventingContract

log = logging.getLogger("knpy.broker.ingress")

_OPTIONS_HEADERS = {"Allow": "POST, OPTIONS", "WebHook-Allowed-Origin": "*",
                    "WebHook-Allowed-Rate": "*"}


def _text(status: int, message: str) -> web.Response:
    return web.Response(status=status, text=message + "\n")


class Ingress:
    """The request handler; `contract` is swapped in whole when the file changes."""

    def __init__(self, store: EventStore, max_event_bytes: int) -> None:
        self.store = store
        self.max_event_bytes = max_event_bytes
        self.brokers: frozenset[str] = frozenset()

    def set_contract(self, contract: EventingContract) -> None:
        self.brokers = frozenset(b.key for b in contract.brokers)

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        method = request.method
        if method == "OPTIONS":
            return web.Response(status=200, headers=_OPTIONS_HEADERS)
        if method != "POST":
            return _text(405, f"method {method} not allowed")
        path = request.path
        if path == "/":
            return _text(404, "POST /<namespace>/<broker>")
        parts = path.strip("/").split("/")
        if len(parts) != 2 or not parts[0] or not parts[1] or not path.startswith("/"):
            return _text(400, f"path {path!r} is not /<namespace>/<broker>")
        length = request.content_length
        if length is not None and length > self.max_event_bytes:
            return _text(413, f"event larger than {self.max_event_bytes} bytes")
        body = await request.content.read(self.max_event_bytes + 1)
        if len(body) > self.max_event_bytes:
            return _text(413, f"event larger than {self.max_event_bytes} bytes")
        headers = request.headers.items()
        try:
            event = admission.admit(ce.from_http(headers, body))
        except ce.CloudEventError as e:
            return _text(400, f"invalid CloudEvent: {e}")
        key = f"{parts[0]}/{parts[1]}"
        if key not in self.brokers:
            return _text(404, f"broker {key} not found")
        try:
            await self.store.append(key, record.encode(event, admission.passthrough(headers)))
        except StoreUnavailable as e:
            log.warning("store unavailable: %s", e)
            return _text(503, "event store unavailable; retry")
        return web.Response(status=202)


async def serve(ingress: Ingress, host: str, port: int) -> web.Server:
    """Start the low-level aiohttp server (no router: one handler does the path checks)."""
    server = web.Server(ingress.handle, access_log=None)
    loop = asyncio.get_running_loop()
    await loop.create_server(server, host, port, reuse_address=True, backlog=1024)
    return server
