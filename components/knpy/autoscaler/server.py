"""The autoscaler's one HTTP port (8080 by default).

- `GET /` with a websocket upgrade: the activator's stat stream, one binary
  `WireStatMessages` frame at a time (Knative's autoscaler accepts the same).
- `GET /healthz`: liveness.
- `GET /metrics`: Prometheus text, Knative's autoscaler metric names.
- `GET /api/v1/revisions[/{ns}/{name}]`: decisions and averages as JSON.
- `PUT /api/v1/revisions/{ns}/{name}`: register or update (the registration.py schema,
  as JSON; `process` targets only with --allow-api-process-targets, since they run
  commands); `DELETE` unregisters (and stops any pods the target started). Neither exists
  in cluster mode (405), where the PodAutoscalers are the registrations.

Served by the proxy core's `AppServer` (`knpy.runtime.proxy.app`, websocket in
`runtime.proxy.websocket`), so the core's limits hold here as on the data plane: request
head over 64 KiB 431, head not complete within 60 s 408, body over 1 MiB 413, pipelined
requests answered in order, idle keep-alive connections closed after 75 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import tempfile
from typing import Any
from urllib.parse import unquote

from knpy.autoscaler.multiscaler import Multiscaler
from knpy.autoscaler.registration import parse_registration
from knpy.runtime.config import FieldError
from knpy.runtime.contract.wirestat import WireError, decode_wire_stats
from knpy.runtime.k8s import metrics as k8s_metrics
from knpy.runtime.observability.metrics import Registry, Sample
from knpy.runtime.proxy import ProxyOptions
from knpy.runtime.proxy.app import AppServer, Request, method_not_allowed, not_found
from knpy.runtime.proxy.metrics import PROM_CONTENT_TYPE
from knpy.runtime.proxy.websocket import BINARY, WebSocket, accept

__all__ = ["Api", "EndpointsPublisher", "make_server"]

log = logging.getLogger("knpy.autoscaler.server")


class EndpointsPublisher:
    """Writes each revision's routing view (mode and ready pod addresses) to a JSON file
    whenever it changes, atomically, for a standalone activator to read."""

    def __init__(self, ms: Multiscaler, path: str | None) -> None:
        self._ms = ms
        self._path = path
        self._event = asyncio.Event()
        self._last = ""
        self._task: asyncio.Task[None] | None = None

    def snapshot(self) -> dict[str, Any]:
        out = {}
        for key, rev in sorted(self._ms.revisions.items()):
            st = rev.status()
            out[key] = {"mode": st["mode"], "desiredScale": st["desiredScale"],
                        "containerConcurrency": rev.spec.container_concurrency,
                        "pods": [p["address"] for p in st["pods"]]}
        return out

    def poke(self) -> None:
        self._event.set()

    def start(self) -> None:
        if self._path:
            self._task = asyncio.create_task(self._run(), name="endpoints-publisher")

    async def _run(self) -> None:
        assert self._path
        while True:
            await self._event.wait()
            self._event.clear()
            text = json.dumps(self.snapshot(), indent=1, sort_keys=True)
            if text != self._last:
                _write_atomic(self._path, text)
                self._last = text

    async def close(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def _write_atomic(path: str, text: str) -> None:
    """Readers see the old file or the new one, never half of one (a small local write)."""
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".endpoints-")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


_GAUGES = (
    # (name, help, status() field or a function of the revision)
    ("autoscaler_desired_pods", "Number of pods the autoscaler wants", "desiredScale"),
    ("autoscaler_requested_pods", "Number of pods requested from the scale target",
     "appliedScale"),
    ("autoscaler_actual_pods", "Number of ready pods (Knative's name)", "readyPods"),
    ("autoscaler_ready_pods", "Number of ready pods", "readyPods"),
    ("autoscaler_not_ready_pods", "Number of pods started but not ready", "notReadyPods"),
    ("autoscaler_excess_burst_capacity", "Excess burst capacity over the panic window",
     "excessBurstCapacity"),
    ("autoscaler_panic_mode", "1 while the revision is in panic mode", "panicMode"),
    ("autoscaler_stable_request_concurrency", "Average concurrency, stable window",
     "stableAverage"),
    ("autoscaler_panic_request_concurrency", "Average concurrency, panic window",
     "panicAverage"),
    ("autoscaler_target_concurrency_per_pod", "Per-pod target of the scaling metric",
     "target"),
    ("autoscaler_stable_requests_per_second", "Average RPS, stable window", "stableAverage"),
    ("autoscaler_panic_requests_per_second", "Average RPS, panic window", "panicAverage"),
)


def metrics_registry(ms: Multiscaler) -> Registry:
    """Per revision (`namespace_name`, `revision_name`, Knative's labels), read from the
    revisions' status at scrape time. The window averages are under `*_request_concurrency`
    or `*_requests_per_second` as the revision scales on concurrency or RPS."""
    reg = Registry()

    def samples(name: str, field: str) -> list[Sample]:
        out: list[Sample] = []
        for rev in ms.revisions.values():
            rps = rev.settings.metric == "rps"
            if ("requests_per_second" in name and not rps) or \
                    (name.endswith("_request_concurrency") and rps):
                continue
            v = rev.status()[field]
            if v is not None:
                out.append(((rev.spec.namespace, rev.spec.name), float(v)))
        return out

    for name, help_text, field in _GAUGES:
        reg.collected(name, "gauge", help_text, ("namespace_name", "revision_name"),
                      functools.partial(samples, name, field))
    return reg


_JSON = b"application/json; charset=utf-8"
_READ = frozenset({b"GET", b"HEAD"})
_WRITE = frozenset({b"GET", b"HEAD", b"PUT", b"DELETE"})
_TRACE_HEADERS = frozenset({"traceparent", "tracestate"})  # W3C trace context
REVISIONS = "/api/v1/revisions"


class Api:
    """The endpoints, served as a `runtime.proxy.app.App`: GETs are answered from the
    head, PUT and DELETE once their body is in."""

    def __init__(self, ms: Multiscaler, publisher: EndpointsPublisher, *,
                 allow_process_targets: bool = False, writable: bool = True) -> None:
        self.ms = ms
        self.metrics = metrics_registry(ms)
        self.publisher = publisher
        self.allow_process_targets = allow_process_targets
        self.writable = writable

    # ---------------------------------------------------------------- runtime.proxy.app.App
    def head(self, req: Request) -> None:
        path = req.path().decode("latin-1")
        key: str | None = None
        if path in ("/", "/healthz", "/metrics", REVISIONS):
            allowed = _READ
        elif path.startswith(REVISIONS + "/") and len(parts := path.split("/")) == 6 \
                and parts[4] and parts[5]:
            key = f"{unquote(parts[4])}/{unquote(parts[5])}"
            allowed = _WRITE if self.writable else _READ
        else:
            not_found(req)
            return
        if req.method not in allowed:
            method_not_allowed(req, allowed)
            return
        if req.method in _READ:
            self._get(req, path, key)
        else:
            req.user = key  # PUT/DELETE: respond() once the body is in

    async def respond(self, req: Request) -> None:
        key: str = req.user
        if req.method == b"DELETE":
            if key not in self.ms.revisions:
                _not_registered(req, key)
                return
            await self.ms.unregister(key)
            self.publisher.poke()
            close = not req.keep_alive or req.close_after or req.conn.server.closing
            req.respond_raw(b"HTTP/1.1 204 No Content\r\n%s\r\n"
                            % (b"Connection: close\r\n" if close else b""))
            return
        status, body = await self._put(key, req.payload(), _trace_context(req))
        if isinstance(body, str):
            req.reply(status, body.encode())
        else:
            _json(req, body, status)

    # ---------------------------------------------------------------- endpoints
    def _get(self, req: Request, path: str, key: str | None) -> None:
        ms = self.ms
        if key is not None:
            rev = ms.revisions.get(key)
            if rev is None:
                _not_registered(req, key)
            else:
                _json(req, rev.status())
        elif path == "/":
            if req.upgrade.lower() == b"websocket":  # else the text, as aiohttp's route did
                accept(req, self._stats, max_message=16 << 20, heartbeat=30.0)
            else:
                req.reply(200, b"knpy autoscaler: websocket stats endpoint\n")
        elif path == "/healthz":
            req.reply(200, b"ok\n")
        elif path == "/metrics":
            req.reply(200, self.metrics.render() + k8s_metrics.render(),
                      content_type=PROM_CONTENT_TYPE)
        else:
            _json(req, {"revisions": [r.status() for _, r in sorted(ms.revisions.items())]})

    async def _put(self, key: str, raw: bytes,
                   trace: dict[str, str]) -> tuple[int, str | dict[str, Any]]:
        try:
            body = json.loads(raw.decode())
        except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
            return 400, f"body is not JSON: {exc}\n"
        if not isinstance(body, dict):
            return 400, "body must be a JSON object\n"
        namespace, _, name = key.partition("/")
        body = {**body, "namespace": namespace, "name": name}
        if "process" in body and not self.allow_process_targets:
            # A process template is a command line: never accept one from the network unless
            # the operator opted in (standalone, loopback).
            return 403, ("process: scale targets that run commands are disabled over the "
                         "API; start with --allow-api-process-targets\n")
        ms = self.ms
        try:
            reg = parse_registration(body)
            existing = ms.revisions.get(reg.spec.key)
            target = reg.target(existing.target if existing else None, self.publisher.poke)
            rev = await ms.register(reg.spec, target, trace or None)
        except FieldError as exc:
            return 400, f"{exc}\n"
        self.publisher.poke()
        return (200 if existing else 201), rev.status()

    async def _stats(self, ws: WebSocket) -> None:
        """The activator's stat stream: one binary WireStatMessages per message."""
        peer = ws.peer
        log.info("stats stream connected from %s", peer)
        try:
            async for msg in ws:
                if msg.kind == BINARY:
                    try:
                        messages = decode_wire_stats(msg.data)  # type: ignore[arg-type]
                    except WireError as exc:
                        log.warning("bad stats frame from %s: %s", peer, exc)
                        continue
                    self.ms.record_activator_stats(messages)
                else:
                    log.warning("ignoring text frame from %s: stats are binary "
                                "WireStatMessages", peer)
        finally:
            log.info("stats stream from %s closed", peer)


def _trace_context(req: Request) -> dict[str, str]:
    """The request's W3C trace context (the parent of a new revision's initial scale)."""
    return {name: v for k, v in req.headers() if (name := k.lower()) in _TRACE_HEADERS}


def _json(req: Request, obj: Any, status: int = 200) -> None:
    req.reply(status, json.dumps(obj).encode(), content_type=_JSON)


def _not_registered(req: Request, key: str) -> None:
    req.reply(404, f"revision {key} is not registered\n".encode())


def make_server(ms: Multiscaler, publisher: EndpointsPublisher, *,
                allow_process_targets: bool = False, writable: bool = True,
                header_timeout: float = 60.0) -> AppServer:
    """The API on the proxy core's server (not yet listening: `await ....listen(host,
    port)`). `writable=False` (cluster mode: PodAutoscalers are the registrations) leaves
    the revisions API read-only, so nothing on the network can swap a Deployment target.
    Bodies over 1 MiB get 413; a head not in within `header_timeout` s gets 408."""
    api = Api(ms, publisher, allow_process_targets=allow_process_targets, writable=writable)
    # Idle keep-alive connections close after 75 s, as aiohttp's server did.
    options = ProxyOptions(header_timeout=header_timeout, keepalive_timeout=75.0)
    return AppServer(api, options, max_body=1 << 20)
