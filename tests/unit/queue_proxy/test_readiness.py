"""The readiness prober against real sockets."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from pathlib import Path

import pytest

from knpy.queue_proxy.config import ProbeSpec
from knpy.queue_proxy.readiness import ReadinessProber
from tests.support.procs import free_port


async def _http_server(statuses: list[int]) -> tuple[asyncio.Server, list[bytes]]:
    seen: list[bytes] = []

    async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        seen.append(await r.readuntil(b"\r\n\r\n"))
        code = statuses.pop(0) if len(statuses) > 1 else statuses[0]
        w.write(b"HTTP/1.1 %d X\r\nContent-Length: 0\r\n\r\n" % code)
        await w.drain()
        w.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0), seen


async def test_tcp_probe() -> None:
    srv = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    assert await ReadinessProber(ProbeSpec("tcp", "127.0.0.1", port, period=1)).check()
    srv.close()
    assert not await ReadinessProber(ProbeSpec("tcp", "127.0.0.1", free_port(), period=1)).check()


async def test_aggressive_probe_waits_for_the_port() -> None:
    port = free_port()
    prober = ReadinessProber(ProbeSpec("tcp", "127.0.0.1", port))
    check = asyncio.ensure_future(prober.check())
    await asyncio.sleep(0.3)
    assert not check.done()
    srv = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", port)
    assert await asyncio.wait_for(check, 5)
    assert prober.ready
    srv.close()


async def test_http_probe_status_headers_and_threshold() -> None:
    srv, seen = await _http_server([503, 503, 200])
    port = srv.sockets[0].getsockname()[1]
    periodic = ReadinessProber(ProbeSpec("http", "127.0.0.1", port, "/ready",
                                         headers=(("X-Probe", "1"),), period=1))
    assert not await periodic.check()  # one attempt: 503
    aggressive = ReadinessProber(ProbeSpec("http", "127.0.0.1", port, "/ready",
                                           success_threshold=2))
    assert await aggressive.check()  # 503, then 200 twice in a row
    assert seen[0].startswith(b"GET /ready HTTP/1.1\r\n")
    assert b"X-Probe: 1\r\n" in seen[0]
    assert b"K-Network-Probe: queue\r\n" in seen[0]
    assert len(seen) == 4
    srv.close()


async def test_concurrent_checks_share_one_probe() -> None:
    srv, seen = await _http_server([200])
    port = srv.sockets[0].getsockname()[1]
    prober = ReadinessProber(ProbeSpec("http", "127.0.0.1", port, period=1))
    assert all(await asyncio.gather(*(prober.check() for _ in range(20))))
    assert len(seen) == 1
    srv.close()


@pytest.fixture
def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A throwaway self-signed certificate (openssl CLI), as (key, cert)."""
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=user-app"],
                   check=True, capture_output=True, timeout=30)
    return key, cert


async def test_https_probe_skips_verification(self_signed: tuple[Path, Path]) -> None:
    key, cert = self_signed
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    seen: list[bytes] = []

    async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        seen.append(await r.readuntil(b"\r\n\r\n"))
        w.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        await w.drain()
        w.close()

    srv = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ctx)
    port = srv.sockets[0].getsockname()[1]
    spec = ProbeSpec("http", "127.0.0.1", port, "/ready", scheme="https", period=1, timeout=5)
    assert await ReadinessProber(spec).check()
    assert seen and seen[0].startswith(b"GET /ready HTTP/1.1")
    plain = ProbeSpec("http", "127.0.0.1", port, "/ready", period=1, timeout=2)
    assert not await ReadinessProber(plain).check()  # plain HTTP to a TLS port fails
    srv.close()


async def test_lost_means_ready_once_and_failing_now() -> None:
    """Not ready yet at start is not `lost` (nothing to move away from); failing after
    being ready is, at once even in aggressive mode, and passing again clears it."""
    statuses = [503, 200, 503, 200]
    srv, _ = await _http_server(statuses)
    port = srv.sockets[0].getsockname()[1]
    prober = ReadinessProber(ProbeSpec("http", "127.0.0.1", port, "/ready", period=1))
    assert not await prober.check() and not prober.lost  # starting up
    assert await prober.check() and not prober.lost
    assert not await prober.check() and prober.lost
    assert await prober.check() and not prober.lost
    srv.close()
    srv, _ = await _http_server([200, 503])
    port = srv.sockets[0].getsockname()[1]
    aggressive = ReadinessProber(ProbeSpec("http", "127.0.0.1", port, "/ready"))
    assert await aggressive.check()
    polling = asyncio.ensure_future(aggressive.check())  # 503 from now on: polls for 10 s
    await asyncio.sleep(0.2)
    assert aggressive.lost and not polling.done()
    polling.cancel()
    srv.close()
