"""The broker scenario's event sink: counts deliveries by CloudEvent id, so that a lost
event is not hidden by a redelivered one, and records send -> delivery latency from the
event's ce-sentns. GET /stats answers {received, unique, latency_ms, last} (last: the
wall-clock time of the latest new delivery).

    python -m loadtests.locust.sink --host 127.0.0.1 --port 8080
"""

from __future__ import annotations

import argparse
import time

from aiohttp import web


def app() -> web.Application:
    ids: set[str] = set()
    latency: list[float] = []
    received = [0]
    last = [0.0]

    async def deliver(request: web.Request) -> web.Response:
        await request.read()
        received[0] += 1
        ce_id = request.headers.get("ce-id", "")
        if ce_id not in ids:
            ids.add(ce_id)
            last[0] = time.time()
            sent = request.headers.get("ce-sentns", "")
            if sent.isdigit():
                latency.append((time.time_ns() - int(sent)) / 1e6)
        return web.Response(status=202)

    async def stats(_request: web.Request) -> web.Response:
        return web.json_response({"received": received[0], "unique": len(ids),
                                  "latency_ms": latency, "last": last[0]})

    a = web.Application()
    a.router.add_get("/stats", stats)
    a.router.add_post("/{tail:.*}", deliver)
    return a


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    args = ap.parse_args()
    web.run_app(app(), host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
