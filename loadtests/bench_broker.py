"""Broker benchmark: durable end-to-end delivery on 127.0.0.1.

producer -> ingress (aiohttp) -> nats-server JetStream (file store) -> dispatcher -> a fast
sink, each a separate process. 1 KiB binary-mode events, bounded counts.

RESULT broker_events_per_s   closed loop, N events, time until the sink has them all
RESULT broker_p99_ms         open loop at half that rate, send -> sink receive latency
RESULT sink_direct_events_per_s  baseline in the same run: the same producer POSTing
                             straight to the sink (no broker), and the ratio of the two.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from tests.support.procs import free_port, nats_server_argv, python_module, spawn, stop, wait_port

HERE = Path(__file__).resolve().parent

N_THROUGHPUT = int(os.environ.get("BENCH_BROKER_EVENTS", "20000"))
CONCURRENCY = 64
LATENCY_SECONDS = 5.0
BODY = b'{"pad":"' + b"x" * (1024 - 10) + b'"}'


# ------------------------------------------------------------------ the fast sink
class _SinkProtocol(asyncio.Protocol):
    """Minimal HTTP/1.1 server: counts POSTs, records latency from a ce-sentns header."""

    def __init__(self, stats: dict) -> None:
        import httptools

        self.stats = stats
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.sent: int | None = None
        self.url = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_url(self, url: bytes) -> None:
        self.url = url

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"ce-sentns":
            self.sent = int(value)

    def on_message_complete(self) -> None:
        assert self.transport is not None
        if self.url == b"/stats":
            body = json.dumps(self.stats).encode()
            self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s"
                                 % (len(body), body))
            return
        if self.url == b"/reset":
            self.stats["count"] = 0
            self.stats["lat"] = []
        else:
            self.stats["count"] += 1
            if self.sent is not None:
                self.stats["lat"].append((time.time_ns() - self.sent) / 1e6)
        self.sent = None
        self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")


def run_sink(port: int) -> None:
    import uvloop

    async def main() -> None:
        stats: dict = {"count": 0, "lat": []}
        loop = asyncio.get_running_loop()
        await loop.create_server(lambda: _SinkProtocol(stats), "127.0.0.1", port, backlog=1024)
        await asyncio.Event().wait()

    uvloop.run(main())


# ------------------------------------------------------------------ the producer
_IDS = itertools.count()  # every event of the run has its own id: the broker deduplicates
                         # a repeated source+id within --dedup-window


def _request(host_port: str, path: str, i: int, sent_ns: int | None) -> bytes:
    extra = b"ce-sentns: %d\r\n" % sent_ns if sent_ns is not None else b""
    return (b"POST %s HTTP/1.1\r\nHost: %s\r\nce-specversion: 1.0\r\nce-id: %d\r\n"
            b"ce-source: /bench\r\nce-type: bench.event\r\nContent-Type: application/json\r\n"
            b"%sContent-Length: %d\r\n\r\n%s") % (path.encode(), host_port.encode(), i, extra,
                                                 len(BODY), BODY)


class _Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.r, self.w = reader, writer

    async def post(self, req: bytes) -> int:
        self.w.write(req)
        head = await self.r.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        idx = lower.find(b"content-length:")
        if idx >= 0:
            n = int(lower[idx + 15:lower.index(b"\r\n", idx)])
            if n:
                await self.r.readexactly(n)
        return status


async def _connect(port: int) -> _Conn:
    r, w = await asyncio.open_connection("127.0.0.1", port)
    return _Conn(r, w)


async def closed_loop(port: int, path: str, n: int, timestamps: bool = False,
                      host: str | None = None) -> int:
    """n POSTs over CONCURRENCY keep-alive connections; returns how many got 2xx. `host`:
    the Host header (default 127.0.0.1:port; a channel is addressed by it)."""
    conns = [await _connect(port) for _ in range(CONCURRENCY)]
    counter = iter(range(n))
    ok = 0

    async def worker(c: _Conn) -> None:
        nonlocal ok
        for _ in counter:
            st = await c.post(_request(host or f"127.0.0.1:{port}", path, next(_IDS),
                                       time.time_ns() if timestamps else None))
            ok += 200 <= st < 300
    await asyncio.gather(*(worker(c) for c in conns))
    for c in conns:
        c.w.close()
    return ok


async def open_loop(port: int, path: str, rate: float, seconds: float,
                    host: str | None = None) -> int:
    """Paced sends at `rate`/s (each on a free connection); returns the count sent."""
    conns = [await _connect(port) for _ in range(CONCURRENCY)]
    free: asyncio.Queue[_Conn] = asyncio.Queue()
    for c in conns:
        free.put_nowait(c)
    total = int(rate * seconds)
    t0 = time.monotonic()
    tasks = []

    async def one() -> None:
        c = await free.get()
        await c.post(_request(host or f"127.0.0.1:{port}", path, next(_IDS), time.time_ns()))
        free.put_nowait(c)

    for i in range(total):
        delay = t0 + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one()))
    await asyncio.gather(*tasks)
    for c in conns:
        c.w.close()
    return total


async def sink_stats(port: int) -> dict:
    c = await _connect(port)
    c.w.write(b"GET /stats HTTP/1.1\r\nHost: x\r\n\r\n")
    head = await c.r.readuntil(b"\r\n\r\n")
    n = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    body = await c.r.readexactly(n)
    c.w.close()
    return json.loads(body)


async def sink_reset(port: int) -> None:
    c = await _connect(port)
    await c.post(b"POST /reset HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    c.w.close()


async def wait_count(port: int, n: int, limit: float) -> float:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if (await sink_stats(port))["count"] >= n:
            return time.monotonic()
        await asyncio.sleep(0.05)
    raise TimeoutError(f"sink got {(await sink_stats(port))['count']} of {n}")


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * p / 100))] if s else float("nan")


async def latency_results(name: str, sink_port: int, ingress_port: int, path: str,
                          eps: float, host: str | None = None, fanout: int = 1) -> None:
    """Open-loop latency at half the measured rate `eps` (each event reaching the sink
    `fanout` times), then the RESULT lines `<name>_events_per_s`, `_p99_ms`, `_p50_ms`."""
    await sink_reset(sink_port)
    rate = max(50.0, eps / 2)
    sent = await open_loop(ingress_port, path, rate, LATENCY_SECONDS, host=host)
    await wait_count(sink_port, fanout * sent, 60)
    lat = (await sink_stats(sink_port))["lat"]
    print(f"latency at {rate:.0f}/s over {len(lat)} deliveries: p50 {pct(lat, 50):.1f} ms, "
          f"p99 {pct(lat, 99):.1f} ms", flush=True)
    print(f"RESULT {name}_events_per_s {eps:.0f} events/s")
    print(f"RESULT {name}_p99_ms {pct(lat, 99):.1f} ms")
    print(f"RESULT {name}_p50_ms {pct(lat, 50):.1f} ms")


async def bench(sink_port: int, ingress_port: int) -> None:
    # Baseline: the same producer straight to the sink.
    await closed_loop(sink_port, "/warm", 2000)
    await sink_reset(sink_port)
    t0 = time.monotonic()
    await closed_loop(sink_port, "/direct", N_THROUGHPUT)
    direct = N_THROUGHPUT / (time.monotonic() - t0)
    await sink_reset(sink_port)

    # Warm the broker path, then the durable end-to-end run.
    ok = await closed_loop(ingress_port, "/bench/default", 2000)
    await wait_count(sink_port, ok, 60)
    await sink_reset(sink_port)
    t0 = time.monotonic()
    accepted = await closed_loop(ingress_port, "/bench/default", N_THROUGHPUT)
    t_ingress = time.monotonic() - t0
    t1 = await wait_count(sink_port, accepted, 90)
    eps = accepted / (t1 - t0)
    print(f"accepted {accepted}/{N_THROUGHPUT}; ingress {accepted / t_ingress:.0f}/s; "
          f"end-to-end {eps:.0f}/s; direct to sink {direct:.0f}/s", flush=True)

    # Latency at half the measured rate.
    await latency_results("broker", sink_port, ingress_port, "/bench/default", eps)
    print(f"RESULT sink_direct_events_per_s {direct:.0f} events/s")
    print(f"RESULT broker_vs_direct_ratio {eps / direct:.3f} x")


def _broker_contract(sink_port: int) -> dict:
    return {"brokers": [{"namespace": "bench", "name": "default"}],
            "triggers": [{"namespace": "bench", "name": "all", "broker": "default",
                          "subscriber": f"http://127.0.0.1:{sink_port}/",
                          "concurrency": 128}]}


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--sink":
        run_sink(int(sys.argv[2]))
        return
    run_stack(_broker_contract, bench)


def run_stack(contract_of: Callable[[int], dict],
              bench_fn: Callable[[int, int], Awaitable[None]]) -> None:
    """nats-server, the sink, the broker's dispatcher and ingress as processes, with the
    contract `contract_of(sink_port)`; then `bench_fn(sink_port, ingress_port)`."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-broker-"))
    procs = []
    try:
        nats_port, sink_port, ingress_port = free_port(), free_port(), free_port()
        try:
            nats_argv = nats_server_argv(tmp / "js", nats_port)
        except RuntimeError as e:
            sys.exit(str(e))  # the finally below still removes tmp
        nats = spawn(nats_argv, log_path=tmp / "nats.log")
        procs.append(nats)
        wait_port(nats_port, proc=nats)
        sink = spawn([sys.executable, "-m", "loadtests.bench_broker", "--sink", str(sink_port)],
                     log_path=tmp / "sink.log")
        procs.append(sink)
        wait_port(sink_port, proc=sink)
        contract = tmp / "contract.yaml"
        contract.write_text(json.dumps(contract_of(sink_port)))
        common = ["--contract", str(contract), "--nats", f"nats://127.0.0.1:{nats_port}",
                  "--log-level", "WARNING"]
        disp = spawn(python_module("knpy.broker", "--role", "dispatcher", *common),
                     log_path=tmp / "dispatcher.log")
        procs.append(disp)
        ing = spawn(python_module("knpy.broker", "--role", "ingress", "--port",
                                  str(ingress_port), *common), log_path=tmp / "ingress.log")
        procs.append(ing)
        wait_port(ingress_port, proc=ing)
        time.sleep(1.5)  # contract applied: stream and consumer exist
        import uvloop

        uvloop.run(bench_fn(sink_port, ingress_port))
    finally:
        for p in reversed(procs):
            stop(p)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
