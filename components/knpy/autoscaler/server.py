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
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import tempfile
from typing import Any

from aiohttp import WSMsgType, web

from knpy.autoscaler.multiscaler import Multiscaler, Revision
from knpy.autoscaler.registration import parse_registration
from knpy.runtime.config import FieldError
from knpy.runtime.contract.wirestat import WireError, decode_wire_stats

__all__ = ["EndpointsPublisher", "make_app"]

log = logging.getLogger("knpy.autoscaler.server")

MULTISCALER = web.AppKey("multiscaler", Multiscaler)
PUBLISHER: web.AppKey[EndpointsPublisher] = web.AppKey("publisher")
ALLOW_PROCESS = web.AppKey("allow_process_targets", bool)


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


def _metrics_text(ms: Multiscaler) -> str:
    gauges: dict[str, tuple[str, list[str]]] = {
        "autoscaler_desired_pods": ("Number of pods the autoscaler wants", []),
        "autoscaler_requested_pods": ("Number of pods requested from the scale target", []),
        "autoscaler_actual_pods": ("Number of ready pods", []),
        "autoscaler_excess_burst_capacity": ("Excess burst capacity over the panic window",
                                             []),
        "autoscaler_panic_mode": ("1 while the revision is in panic mode", []),
        "autoscaler_stable_request_concurrency": ("Average concurrency, stable window", []),
        "autoscaler_panic_request_concurrency": ("Average concurrency, panic window", []),
        "autoscaler_target_concurrency_per_pod": ("Per-pod target of the scaling metric", []),
        "autoscaler_stable_requests_per_second": ("Average RPS, stable window", []),
        "autoscaler_panic_requests_per_second": ("Average RPS, panic window", []),
    }

    def add(name: str, labels: str, value: float | int | None) -> None:
        if value is not None:
            gauges[name][1].append(f"{name}{{{labels}}} {float(value):g}")

    for rev in ms.revisions.values():
        st = rev.status()
        labels = f'namespace_name="{rev.spec.namespace}",revision_name="{rev.spec.name}"'
        add("autoscaler_desired_pods", labels, st["desiredScale"])
        add("autoscaler_requested_pods", labels, st["appliedScale"])
        add("autoscaler_actual_pods", labels, st["readyPods"])
        add("autoscaler_excess_burst_capacity", labels,
            st["excessBurstCapacity"])
        add("autoscaler_panic_mode", labels, int(bool(st["panicMode"])))
        prefix = "requests_per_second" if rev.settings.metric == "rps" else "request_concurrency"
        add(f"autoscaler_stable_{prefix}", labels, st["stableAverage"])
        add(f"autoscaler_panic_{prefix}", labels, st["panicAverage"])
        add("autoscaler_target_concurrency_per_pod", labels, rev.settings.target)
    lines = []
    for name, (help_text, samples) in gauges.items():
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", *samples]
    return "\n".join(lines) + "\n"


def _rev_or_404(ms: Multiscaler, request: web.Request) -> Revision:
    key = f"{request.match_info['namespace']}/{request.match_info['name']}"
    rev = ms.revisions.get(key)
    if rev is None:
        raise web.HTTPNotFound(text=f"revision {key} is not registered\n")
    return rev


async def _stats_ws(request: web.Request) -> web.StreamResponse:
    ms = request.app[MULTISCALER]
    if request.headers.get("Upgrade", "").lower() != "websocket":
        return web.Response(text="knpy autoscaler: websocket stats endpoint\n")
    ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=16 << 20)
    await ws.prepare(request)
    peer = request.remote
    log.info("stats stream connected from %s", peer)
    async for msg in ws:
        if msg.type == WSMsgType.BINARY:
            try:
                messages = decode_wire_stats(msg.data)
            except WireError as exc:
                log.warning("bad stats frame from %s: %s", peer, exc)
                continue
            ms.record_activator_stats(messages)
        elif msg.type == WSMsgType.TEXT:
            log.warning("ignoring text frame from %s: stats are binary WireStatMessages", peer)
    log.info("stats stream from %s closed", peer)
    return ws


async def _healthz(_: web.Request) -> web.Response:
    return web.Response(text="ok\n")


async def _metrics(request: web.Request) -> web.Response:
    return web.Response(text=_metrics_text(request.app[MULTISCALER]),
                        content_type="text/plain", charset="utf-8",
                        headers={"X-Content-Type-Version": "0.0.4"})


async def _list(request: web.Request) -> web.Response:
    ms = request.app[MULTISCALER]
    return web.json_response({"revisions": [r.status() for _, r in
                                            sorted(ms.revisions.items())]})


async def _get(request: web.Request) -> web.Response:
    return web.json_response(_rev_or_404(request.app[MULTISCALER], request).status())


async def _put(request: web.Request) -> web.Response:
    ms = request.app[MULTISCALER]
    publisher = request.app[PUBLISHER]
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise web.HTTPBadRequest(text=f"body is not JSON: {exc}\n") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="body must be a JSON object\n")
    body = {**body, "namespace": request.match_info["namespace"],
            "name": request.match_info["name"]}
    if "process" in body and not request.app[ALLOW_PROCESS]:
        # A process template is a command line: never accept one from the network unless
        # the operator opted in (standalone, loopback).
        raise web.HTTPForbidden(text="process: scale targets that run commands are disabled "
                                "over the API; start with --allow-api-process-targets\n")
    try:
        reg = parse_registration(body)
        existing = ms.revisions.get(reg.spec.key)
        target = reg.target(existing.target if existing else None, publisher.poke)
        rev = await ms.register(reg.spec, target)
    except FieldError as exc:
        raise web.HTTPBadRequest(text=f"{exc}\n") from None
    publisher.poke()
    return web.json_response(rev.status(), status=200 if existing else 201)


async def _delete(request: web.Request) -> web.Response:
    ms = request.app[MULTISCALER]
    rev = _rev_or_404(ms, request)
    await ms.unregister(rev.spec.key)
    request.app[PUBLISHER].poke()
    return web.Response(status=204)


def make_app(ms: Multiscaler, publisher: EndpointsPublisher, *,
             allow_process_targets: bool = False, writable: bool = True) -> web.Application:
    """`writable=False` (cluster mode: PodAutoscalers are the registrations) leaves the
    revisions API read-only, so nothing on the network can swap a Deployment target."""
    app = web.Application()
    app[MULTISCALER] = ms
    app[PUBLISHER] = publisher
    app[ALLOW_PROCESS] = allow_process_targets
    app.router.add_get("/", _stats_ws)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/api/v1/revisions", _list)
    app.router.add_get("/api/v1/revisions/{namespace}/{name}", _get)
    if writable:
        app.router.add_put("/api/v1/revisions/{namespace}/{name}", _put)
        app.router.add_delete("/api/v1/revisions/{namespace}/{name}", _delete)
    return app
