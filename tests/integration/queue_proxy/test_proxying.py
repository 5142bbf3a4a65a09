"""queue-proxy in front of a real user app: proxying, streaming, websocket, errors."""

from __future__ import annotations

import hashlib
from pathlib import Path

import aiohttp

from tests.apps.userapp import pattern
from tests.integration.queue_proxy.conftest import QueueProxy
from tests.support.poll import eventually
from tests.support.procs import free_port

TIMEOUT = aiohttp.ClientTimeout(total=60)


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def test_basic_proxying_and_headers(qp: QueueProxy) -> None:
    async with aiohttp.ClientSession(timeout=TIMEOUT) as s:
        async with s.get(qp.url + "/") as r:
            assert (r.status, await r.text()) == (200, "hello")
        async with s.get(qp.url + "/headers", headers={"Connection": "keep-alive, X-Hop",
                                                        "X-Hop": "1", "X-Keep": "2"}) as r:
            got = await r.json()
            assert "x-hop" not in got and got["x-keep"] == ["2"]
            assert got["x-forwarded-for"] == ["127.0.0.1"]
        async with s.get(qp.url + "/headers",
                         headers={"K-Original-Host": "hello.default.example.com"}) as r:
            got = await r.json()
            assert got["host"] == ["hello.default.example.com"]  # Knative's RewriteHostOut
            assert "k-original-host" not in got
        for code in (200, 404, 500):
            async with s.get(qp.url + f"/status/{code}") as r:
                assert r.status == code


async def test_100mb_down_and_up_with_bounded_memory(qp: QueueProxy) -> None:
    n = 100 * 1024 * 1024
    base = rss_kb(qp.proc.pid)
    peak = base
    h = hashlib.sha256()
    got = 0
    async with aiohttp.ClientSession(timeout=TIMEOUT) as s:
        async with s.get(qp.url + f"/big?bytes={n}") as r:
            assert r.status == 200
            async for chunk in r.content.iter_chunked(1 << 20):
                h.update(chunk)
                got += len(chunk)
                peak = max(peak, rss_kb(qp.proc.pid))
        assert got == n
        assert h.hexdigest() == hashlib.sha256(pattern(n)).hexdigest()

        block = bytes(range(256)) * 4096  # 1 MiB

        async def body():  # type: ignore[no-untyped-def]
            nonlocal peak
            for _ in range(100):
                yield block
                peak = max(peak, rss_kb(qp.proc.pid))

        async with s.post(qp.url + "/upload", data=body()) as r:
            assert r.status == 200
            res = await r.json()
    assert res["bytes"] == n
    assert res["sha256"] == hashlib.sha256(block * 100).hexdigest()
    # 200 MB moved through; the queue-proxy held at most a few buffers of it.
    assert peak - base < 32 * 1024, f"RSS grew by {(peak - base) // 1024} MB"


async def test_chunked_stream_and_echo(qp: QueueProxy) -> None:
    async with aiohttp.ClientSession(timeout=TIMEOUT) as s:
        async with s.get(qp.url + "/stream?chunks=100&size=4096&delay_ms=1") as r:
            assert r.headers["Transfer-Encoding"] == "chunked"
            assert await r.read() == pattern(409600)
        data = b"x" * 3_000_000
        async with s.post(qp.url + "/echo", data=data) as r:
            assert await r.read() == data


async def test_websocket(qp: QueueProxy) -> None:
    async with aiohttp.ClientSession(timeout=TIMEOUT) as s, s.ws_connect(qp.url + "/ws") as ws:
        for i in range(20):
            await ws.send_str(f"msg {i}")
            assert (await ws.receive(timeout=5)).data == f"msg {i}"
        await ws.send_bytes(b"\x01" * 1_000_000)
        assert (await ws.receive(timeout=10)).data == b"\x01" * 1_000_000


async def test_user_app_down_gives_502(start_qp) -> None:  # type: ignore[no-untyped-def]
    qp = start_qp(free_port())
    async with aiohttp.ClientSession(timeout=TIMEOUT) as s, s.get(qp.url + "/") as r:
        assert r.status == 502


async def test_timeouts_give_504(user_app: int, start_qp) -> None:  # type: ignore[no-untyped-def]
    total = start_qp(user_app, REVISION_TIMEOUT_SECONDS="1")
    start = start_qp(user_app, REVISION_RESPONSE_START_TIMEOUT_SECONDS="1")
    idle = start_qp(user_app, REVISION_IDLE_TIMEOUT_SECONDS="1")
    async with aiohttp.ClientSession(timeout=TIMEOUT) as s:
        for qp in (total, start, idle):
            async with s.get(qp.url + "/sleep?ms=4000") as r:
                assert r.status == 504
                assert await r.text() == "request timeout"
        # within the limits, nothing changes
        async with s.get(total.url + "/sleep?ms=100") as r:
            assert r.status == 200


async def test_metrics_protobuf_decodes(qp: QueueProxy) -> None:
    from knpy.runtime.contract.stat import Stat, decode_stat

    async with aiohttp.ClientSession(timeout=TIMEOUT) as s:
        for i in range(10):
            hdrs = {"K-Proxy-Request": "activator"} if i < 4 else {}
            async with s.get(qp.url + "/", headers=hdrs) as r:
                assert r.status == 200
        seen = []

        async def reported() -> Stat | None:  # refreshed once a second
            async with s.get(f"http://127.0.0.1:{qp.metrics_port}/metrics",
                             headers={"Accept": "application/protobuf"}) as r:
                assert r.status == 200
                assert r.headers["Content-Type"] == "application/protobuf"
                seen.append(decode_stat(await r.read()))
                return seen[-1] if seen[-1].request_count else None
        stat = await eventually(reported, 7.5, "a Stat with the requests", every=0.25)
        assert stat.pod_name == "hello-00001-deployment-abc"
        assert sum(st.request_count for st in seen) == 10
        assert sum(st.proxied_request_count for st in seen) == 4
        assert stat.process_uptime > 0
        async with s.get(f"http://127.0.0.1:{qp.user_metrics_port}/metrics") as r:
            text = await r.text()
        assert 'response_code_class="2xx"} 10' in text
        assert "queue_average_concurrent_requests{" in text
