"""A small user app for data-plane tests and benchmarks (the "user container").

Run it:  python -m tests.apps.userapp --port 8080 [--host 127.0.0.1] [--ready-after-ms N]

Endpoints (all on one port, HTTP/1.1 via aiohttp):
  GET  /                        200 "hello"
  GET  /healthz                 200 "ok" (503 until --ready-after-ms has passed, and
                                after POST /start-failing)
  POST /start-failing           /healthz answers 503 from now on (Knative's readiness image)
  GET  /sleep?ms=N              sleeps N ms, then 200 "slept N"
  GET  /status/{code}           answers with that status code, body "status {code}"
  GET  /headers                 200 JSON object of the request headers (lists for repeats)
  ANY  /echo                    streams the request body back (chunked), same content type
  POST /upload                  reads the body; 200 JSON {"bytes": n, "sha256": hex}
  GET  /big?bytes=N             N bytes of a repeating pattern, with Content-Length
  GET  /stream?chunks=N&size=S&delay_ms=D   N chunks of S bytes, chunked, D ms apart
  GET  /idle?first_ms=A&gap_ms=B   waits A ms, sends the head and a chunk, waits B ms, ends
  GET  /ws                      websocket echo (text and binary)
  GET  /count                   200 JSON {"inflight": n, "max_inflight": m, "total": t}
                                (inflight excludes this request; a client that goes away
                                cancels its handler)

Every response carries `X-App-Port`. `big`/`stream` bodies are `pattern(n)`: bytes(i % 251).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import time

from aiohttp import WSMsgType, web

PATTERN = bytes(i % 251 for i in range(251 * 1024))


def pattern(n: int) -> bytes:
    """The first n bytes of the body /big and /stream send (tests compare against it)."""
    reps = n // len(PATTERN) + 1
    return (PATTERN * reps)[:n]


class State:
    def __init__(self, ready_at: float) -> None:
        self.ready_at = ready_at
        self.failing = False
        self.inflight = 0
        self.max_inflight = 0
        self.total = 0


def make_app(port: int, ready_after_ms: int = 0) -> web.Application:
    state = State(time.monotonic() + ready_after_ms / 1000)

    @web.middleware
    async def track(request: web.Request, handler):  # type: ignore[no-untyped-def]
        state.inflight += 1
        state.total += 1
        state.max_inflight = max(state.max_inflight, state.inflight)
        try:
            resp = await handler(request)
        finally:
            state.inflight -= 1
        if not resp.prepared:
            resp.headers["X-App-Port"] = str(port)
        return resp

    async def root(_: web.Request) -> web.Response:
        return web.Response(text="hello")

    async def healthz(_: web.Request) -> web.Response:
        if time.monotonic() < state.ready_at:
            return web.Response(status=503, text="not yet")
        if state.failing:
            return web.Response(status=503, text="failing")
        return web.Response(text="ok")

    async def start_failing(_: web.Request) -> web.Response:
        state.failing = True
        return web.Response(text="will now fail readiness")

    async def sleep(request: web.Request) -> web.Response:
        ms = int(request.query.get("ms", "100"))
        await asyncio.sleep(ms / 1000)
        return web.Response(text=f"slept {ms}")

    async def status(request: web.Request) -> web.Response:
        code = int(request.match_info["code"])
        return web.Response(status=code, text=f"status {code}")

    async def headers(request: web.Request) -> web.Response:
        out: dict[str, list[str]] = {}
        for k, v in request.headers.items():
            out.setdefault(k.lower(), []).append(v)
        return web.json_response(out)

    async def echo(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"X-App-Port": str(port)})
        resp.content_type = request.content_type or "application/octet-stream"
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        async for chunk in request.content.iter_any():
            await resp.write(chunk)
        await resp.write_eof()
        return resp

    async def upload(request: web.Request) -> web.Response:
        h = hashlib.sha256()
        n = 0
        async for chunk in request.content.iter_any():
            h.update(chunk)
            n += len(chunk)
        return web.json_response({"bytes": n, "sha256": h.hexdigest()})

    async def big(request: web.Request) -> web.StreamResponse:
        n = int(request.query.get("bytes", "1048576"))
        resp = web.StreamResponse(headers={"X-App-Port": str(port)})
        resp.content_length = n
        resp.content_type = "application/octet-stream"
        await resp.prepare(request)
        sent = 0
        while sent < n:
            piece = PATTERN[: min(len(PATTERN), n - sent)]
            await resp.write(piece)
            sent += len(piece)
        await resp.write_eof()
        return resp

    async def stream(request: web.Request) -> web.StreamResponse:
        chunks = int(request.query.get("chunks", "10"))
        size = int(request.query.get("size", "1000"))
        delay = int(request.query.get("delay_ms", "0")) / 1000
        body = pattern(chunks * size)
        resp = web.StreamResponse(headers={"X-App-Port": str(port)})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for i in range(chunks):
            await resp.write(body[i * size:(i + 1) * size])
            if delay:
                await asyncio.sleep(delay)
        await resp.write_eof()
        return resp

    async def idle(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(int(request.query.get("first_ms", "0")) / 1000)
        resp = web.StreamResponse(headers={"X-App-Port": str(port)})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        await resp.write(b"first")
        await asyncio.sleep(int(request.query.get("gap_ms", "0")) / 1000)
        await resp.write(b"last")
        await resp.write_eof()
        return resp

    async def ws(request: web.Request) -> web.WebSocketResponse:
        sock = web.WebSocketResponse()
        await sock.prepare(request)
        async for msg in sock:
            if msg.type == WSMsgType.TEXT:
                await sock.send_str(msg.data)
            elif msg.type == WSMsgType.BINARY:
                await sock.send_bytes(msg.data)
        return sock

    async def count(_: web.Request) -> web.Response:
        return web.Response(text=json.dumps({"inflight": state.inflight - 1,
                                             "max_inflight": state.max_inflight,
                                             "total": state.total}),
                            content_type="application/json")

    app = web.Application(middlewares=[track], client_max_size=1 << 40)
    app.router.add_get("/", root)
    app.router.add_get("/healthz", healthz)
    app.router.add_post("/start-failing", start_failing)
    app.router.add_get("/sleep", sleep)
    app.router.add_route("*", "/status/{code}", status)
    app.router.add_get("/headers", headers)
    app.router.add_route("*", "/echo", echo)
    app.router.add_post("/upload", upload)
    app.router.add_get("/big", big)
    app.router.add_get("/stream", stream)
    app.router.add_get("/idle", idle)
    app.router.add_get("/ws", ws)
    app.router.add_get("/count", count)
    return app


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ready-after-ms", type=int, default=0,
                    help="answer /healthz with 503 until this long after start")
    args = ap.parse_args()
    web.run_app(make_app(args.port, args.ready_after_ms), host=args.host, port=args.port,
                print=None, access_log=None, handle_signals=True,
                handler_cancellation=True)


if __name__ == "__main__":
    main()
