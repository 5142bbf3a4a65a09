"""Broker ingress: accept CloudEvents over HTTP at /<namespace>/<broker> and store them.

Status codes (docs/broker.md has the table): OPTIONS 200 with the WebHook headers, other
non-POST 405, `POST /` 404, a path that is not /ns/name 400, not a (valid) CloudEvent or a
batch 400, TTL exhausted 400, an event (attributes + data) over the size limit 413,
unknown broker 404, stored 202, store unavailable 503. 202 is sent only after the store
confirmed the write.

Channels are served by the same ingress, addressed by Host as Knative's are:
`<service>.<namespace>[.svc[.<domain>]]`, any path, where `<service>` is the channel's
Service as its contract entry names it (`<name>-kn-channel`, hashed when the name is long,
always ending in `-kn-channel`; that Service resolves to this ingress). A Host carrying
`-kn-channel.` that names no channel is a 404; the broker rules apply otherwise.

HTTP is served by the proxy core (`knpy.runtime.proxy.app`): llhttp on asyncio Protocols,
so the core's head-size limit, head timeout, idle timeout, in-order pipelining and
graceful close hold here as for the proxies. aiohttp's server took about half of the
ingress CPU under py-spy.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import unquote

from knpy.broker import admission, record
from knpy.broker.metrics import BrokerMetrics
from knpy.broker.store import EventStore, EventTooLarge, StoreUnavailable
from knpy.runtime import cloudevents as ce
from knpy.runtime.contract.eventing import CHANNEL, CHANNEL_SERVICE_SUFFIX, EventingContract
from knpy.runtime.proxy import ProxyOptions, http
from knpy.runtime.proxy.app import AppServer, Request

log = logging.getLogger("knpy.broker.ingress")

OPTIONS_HEADERS = (("Allow", "POST, OPTIONS"), ("WebHook-Allowed-Origin", "*"),
                   ("WebHook-Allowed-Rate", "*"))
Reply = tuple[int, tuple[tuple[str, str], ...], str]
_NONE: tuple[tuple[str, str], ...] = ()
CHANNEL_HOST_MARK = f"{CHANNEL_SERVICE_SUFFIX}.".encode()  # in every channel's Host


class Ingress:
    """The request logic, served as a `runtime.proxy.app.App`; the broker set is swapped
    whole when the contract changes."""

    def __init__(self, store: EventStore, max_event_bytes: int,
                 metrics: BrokerMetrics | None = None, tracer: Any | None = None) -> None:
        self.store = store
        self.max_event_bytes = max_event_bytes
        self.brokers: frozenset[str] = frozenset()
        self.channels: dict[bytes, str] = {}  # b"<service>.<ns>" -> the channel's key
        self.metrics = metrics or BrokerMetrics()
        self.tracer: Any = tracer  # a broker.oteltracer.BrokerTracer; None: tracing off

    def set_contract(self, contract: EventingContract) -> None:
        self.brokers = frozenset(b.key for b in contract.brokers)
        self.channels = {f"{b.service}.{b.namespace}".encode(): b.key
                         for b in contract.brokers if b.kind == CHANNEL}

    def channel_key(self, host: bytes | None) -> str | None:
        """The store key of the channel a Host `<service>.<ns>[...][:port]` addresses."""
        if not host:
            return None
        dot = host.find(b".")
        end = host.find(b".", dot + 1) if dot > 0 else -1
        if end < 0:
            end = host.find(b":")
        return self.channels.get((host if end < 0 else host[:end]).lower())

    def precheck(self, method: str, path: str, host: bytes | None = None) -> Reply | str:
        """Everything decided by the request line and Host alone: a reply, or the store
        key of the broker or channel addressed."""
        if method == "OPTIONS":
            return 200, OPTIONS_HEADERS, ""
        if method != "POST":
            return 405, _NONE, f"method {method} not allowed"
        if host and CHANNEL_HOST_MARK in host:  # brokers' Hosts pay no more than this
            channel = self.channel_key(host)
            if channel is None:
                return 404, _NONE, f"no channel at Host {host.decode('latin-1')}"
            return channel
        if path == "/":
            return 404, _NONE, "POST /<namespace>/<broker>"
        parts = path.split("/")
        if len(parts) != 3 or parts[0] or not parts[1] or not parts[2]:
            return 400, _NONE, f"path {path!r} is not /<namespace>/<broker>"
        return path[1:]

    async def accept(self, key: str, headers: list[tuple[str, str]], body: bytes) -> Reply:
        """A POST to `key` (from precheck) whose body is within the limit."""
        try:
            event = admission.admit(ce.from_http(headers, body))
        except ce.CloudEventError as e:
            return 400, _NONE, f"invalid CloudEvent: {e}"
        if key not in self.brokers:
            what = key.replace("/", " ", 1) if key.startswith(CHANNEL) else f"broker {key}"
            return 404, _NONE, f"{what} not found"
        passed = admission.passthrough(headers)
        if self.tracer is None:
            return await self._store(key, event, passed)
        span, passed = self.tracer.send(key, event, passed)  # the record carries its context
        try:
            reply = await self._store(key, event, passed)
        except BaseException:  # cancelled (client gone, shutdown): the span still ends
            self.tracer.stored(span, "cancelled")
            raise
        self.tracer.stored(span, "" if reply[0] == 202 else str(reply[0]))
        return reply

    async def _store(self, key: str, event: ce.CloudEvent,
                     headers: list[tuple[str, str]]) -> Reply:
        blob = record.encode(event, headers)
        if len(blob) > self.max_event_bytes:  # attributes count, not only the data
            return 413, _NONE, (f"event larger than {self.max_event_bytes} bytes "
                                f"(attributes and data: {len(blob)})")
        try:
            await self.store.append(key, blob, record.identity(event))
        except EventTooLarge as e:
            return 413, _NONE, f"event too large for the store: {e}"
        except StoreUnavailable as e:
            log.warning("store unavailable: %s", e)
            return 503, _NONE, "event store unavailable; retry"
        return 202, _NONE, ""

    # ---------------------------------------------------------------- runtime.proxy.app.App
    def head(self, req: Request) -> None:
        path = unquote(req.path().decode("latin-1"))
        reply = self.precheck(req.method.decode("latin-1"), path, req.host)
        if isinstance(reply, str):
            req.user = reply
        else:
            if req.method != b"OPTIONS":
                self.metrics.ingress_result(None, reply[0])
            _send(req, reply)

    async def respond(self, req: Request) -> None:
        key: str = req.user
        reply = await self.accept(key, req.headers(), req.payload())
        self.metrics.ingress_result(key if key in self.brokers else None, reply[0])
        if reply[0] == 202 and req.keep_alive and not req.conn.server.closing:
            req.respond_raw(_ACCEPTED)
        else:
            _send(req, reply)


def _send(req: Request, reply: Reply) -> None:
    status, headers, text = reply
    req.reply(status, (text + "\n").encode() if text else b"",
              headers=b"".join(f"{k}: {v}\r\n".encode("latin-1") for k, v in headers))


_ACCEPTED = http.response(202)


def server(ingress: Ingress, options: ProxyOptions | None = None,
           body_timeout: float = 60.0) -> AppServer:
    """The ingress's HTTP server (not yet listening: `await server(...).listen(host, port)`).
    Bodies above the event size limit get 413 (by Content-Length, or as they stream in),
    bodies not in within `body_timeout` of their head 408."""
    return AppServer(ingress, options, max_body=ingress.max_event_bytes,
                     body_timeout=body_timeout)
