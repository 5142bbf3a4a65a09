"""queue-proxy behaviour Knative defines: breaker overload, probes, drain, bad env."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
from collections.abc import Awaitable

import aiohttp
import pytest

from tests.integration.queue_proxy.conftest import QueueProxy, qp_env
from tests.support.poll import eventually
from tests.support.procs import REPO, free_port, python_module, spawn, stop, wait_port

TIMEOUT = aiohttp.ClientTimeout(total=60)


async def _is(status: Awaitable[int], want: int) -> bool:
    return await status == want


async def test_cc1_overload_gives_exactly_the_breaker_503s(user_app: int, start_qp) -> None:  # type: ignore[no-untyped-def]
    # CC=1: one in flight + a queue of 10; of 16 simultaneous requests, 5 must be refused.
    qp = start_qp(user_app, CONTAINER_CONCURRENCY="1")
    n = 16
    conns = [await asyncio.open_connection("127.0.0.1", qp.port) for _ in range(n)]
    for _, w in conns:
        w.write(b"GET /sleep?ms=1000 HTTP/1.1\r\nHost: x\r\n\r\n")

    async def status(r: asyncio.StreamReader) -> tuple[int, bytes]:
        head = await r.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        return int(head.split(b" ")[1]), await r.readexactly(length)

    results = await asyncio.wait_for(asyncio.gather(*(status(r) for r, _ in conns)), 30)
    for _, w in conns:
        w.close()
    codes = sorted(c for c, _ in results)
    assert codes.count(200) == 11, codes
    assert codes.count(503) == 5, codes
    assert {b for c, b in results if c == 503} == {b"pending request queue full\n"}
    async with aiohttp.ClientSession(timeout=TIMEOUT) as s, \
            s.get(f"http://127.0.0.1:{user_app}/count") as r:
        assert (await r.json())["max_inflight"] == 1  # the user app never saw two at once


async def test_probes(qp: QueueProxy) -> None:
    async with aiohttp.ClientSession(timeout=TIMEOUT) as s:
        async with s.get(qp.url + "/", headers={"K-Network-Probe": "queue"}) as r:
            assert (r.status, await r.text()) == (200, "queue")
        async with s.get(qp.url + "/", headers={"User-Agent": "kube-probe/1.31"}) as r:
            assert (r.status, await r.text()) == (200, "queue")
        async with s.get(qp.url + "/", headers={"K-Kubelet-Probe": "queue"}) as r:
            assert (r.status, await r.text()) == (200, "queue")
        async with s.get(qp.url + "/", headers={"User-Agent": "Knative-Activator-Probe",
                                                 "K-Network-Probe": "queue"}) as r:
            assert (r.status, await r.text()) == (200, "queue")
        async with s.get(qp.url + "/", headers={"K-Network-Probe": "probe",
                                                 "K-Network-Hash": "h123"}) as r:
            assert r.status == 200
            assert r.headers["K-Network-Hash"] == "h123"
        async with s.get(qp.url + "/", headers={"K-Network-Probe": "probe"}) as r:
            assert r.status == 400
        async with s.get(qp.url + "/", headers={"K-Network-Probe": "bogus"}) as r:
            assert r.status == 400
        async with s.get(f"http://127.0.0.1:{qp.user_port}/count") as r:
            # probes were answered by the queue-proxy, never forwarded as requests
            assert (await r.json())["total"] == 1


async def test_probes_bypass_a_full_breaker(user_app: int, start_qp) -> None:  # type: ignore[no-untyped-def]
    qp = start_qp(user_app, CONTAINER_CONCURRENCY="1")
    async with aiohttp.ClientSession(timeout=TIMEOUT) as s:
        busy = [asyncio.ensure_future(s.get(qp.url + "/sleep?ms=3000")) for _ in range(11)]

        async def breaker_full() -> bool:  # 1 running + 10 queued (queue depth 10 x cc)
            g = await qp.gauges(s)
            return (g.get("queue_inflight_requests"), g.get("queue_depth")) == (1, 10)
        await eventually(breaker_full, 10, "11 requests in the breaker", every=0.05)
        async with s.get(qp.url + "/", headers={"K-Network-Probe": "queue"}) as r:
            assert (r.status, await r.text()) == (200, "queue")
        async with s.get(qp.url + "/sleep?ms=1") as r:
            assert r.status == 503  # the breaker itself is full
        for f in busy:
            f.cancel()


async def test_http_readiness_probe_follows_the_user_app(logdir, start_qp) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    app = spawn(python_module("tests.apps.userapp", "--port", str(port), "--ready-after-ms",
                              "5000"), log_path=logdir / "slowapp.log", cwd=REPO)
    try:
        wait_port(port, proc=app, timeout=20)
        probe = {"httpGet": {"path": "/healthz", "port": port}, "periodSeconds": 1,
                 "timeoutSeconds": 1}
        qp = start_qp(port, SERVING_READINESS_PROBE=json.dumps(probe))
        async with aiohttp.ClientSession(timeout=TIMEOUT) as s:
            async with s.get(qp.url + "/", headers={"K-Network-Probe": "queue"}) as r:
                assert r.status == 503  # periodic probe: one attempt, app not ready yet
            # aggressive mode (periodSeconds 0) retries until the app is ready
            probe["periodSeconds"] = 0
            qp2 = start_qp(port, SERVING_READINESS_PROBE=json.dumps(probe))
            async with s.get(qp2.url + "/", headers={"K-Network-Probe": "queue"}) as r:
                assert (r.status, await r.text()) == (200, "queue")
    finally:
        stop(app)


@pytest.mark.parametrize("period", [1, 0])
async def test_a_pod_that_fails_readiness_ends_each_connection(  # type: ignore[no-untyped-def]
        logdir, start_qp, period: int) -> None:
    """Once the user container fails readiness after being ready, responses say
    `Connection: close`: a client pooling connections to the revision's Service (the
    gateway) must dial again, or its conntrack entry keeps it on this pod after the
    endpoints moved to the activator (Knative's TestProbeRuntimeAfterStartup)."""
    port = free_port()
    app = spawn(python_module("tests.apps.userapp", "--port", str(port)),
                log_path=logdir / f"failing-{period}.log", cwd=REPO)
    try:
        wait_port(port, proc=app, timeout=20)
        probe = {"httpGet": {"path": "/healthz", "port": port}, "periodSeconds": period}
        qp = start_qp(port, SERVING_READINESS_PROBE=json.dumps(probe))
        kubelet = {"User-Agent": "kube-probe/1.20"}
        async with aiohttp.ClientSession(timeout=TIMEOUT) as s:
            async with s.get(qp.url + "/", headers=kubelet) as r:
                assert (r.status, await r.text()) == (200, "queue")
            for _ in range(2):  # ready: connections stay open
                async with s.get(qp.url + "/") as r:
                    assert r.status == 200 and "close" not in r.headers.get("Connection", "")
            async with s.post(qp.url + "/start-failing") as r:
                assert r.status == 200
            if period:
                async with s.get(qp.url + "/", headers=kubelet) as r:
                    assert r.status == 503
            else:  # aggressive: the check polls on for 10 s; its first failure counts
                probing = asyncio.ensure_future(s.get(qp.url + "/", headers=kubelet))
                await asyncio.sleep(0.5)
            async with s.get(qp.url + "/") as r:  # still answered, then the connection ends
                assert (r.status, await r.text()) == (200, "hello")
                assert r.headers.get("Connection", "").lower() == "close"
            if not period:
                probing.cancel()
    finally:
        stop(app)


async def test_tcp_readiness_probe_fails_without_user_app(start_qp) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    probe = {"tcpSocket": {"port": port}, "periodSeconds": 1}
    qp = start_qp(port, SERVING_READINESS_PROBE=json.dumps(probe))
    async with aiohttp.ClientSession(timeout=TIMEOUT) as s, \
            s.get(qp.url + "/", headers={"User-Agent": "kube-probe/1.31"}) as r:
        assert r.status == 503


async def test_drain_during_load_loses_nothing(user_app: int, start_qp) -> None:  # type: ignore[no-untyped-def]
    qp = start_qp(user_app, QUEUE_DRAIN_QUIET_PERIOD_SECONDS="1")
    statuses: list[int] = []
    stop_load = asyncio.Event()

    async def worker(s: aiohttp.ClientSession) -> None:
        while not stop_load.is_set():
            async with s.get(qp.url + "/sleep?ms=50") as r:
                await r.read()
                statuses.append(r.status)

    async with aiohttp.ClientSession(timeout=TIMEOUT) as s:
        workers = [asyncio.ensure_future(worker(s)) for _ in range(8)]
        await eventually(lambda: len(statuses) >= 8, 10, "the load under way")
        qp.proc.send_signal(signal.SIGTERM)
        # draining: probes fail, requests are still served
        await eventually(lambda: _is(qp.probe(s), 503), 5, "probes failing", every=0.05)
        served = len(statuses)
        # kept: outlast the 1 s quiet period (nothing reports its end); requests keep
        # coming, so the quiet period keeps restarting and the process must not exit
        await asyncio.sleep(1.0)
        assert qp.proc.poll() is None
        assert len(statuses) > served, "requests were served while draining"
        stop_load.set()
        await asyncio.gather(*workers)
        loop = asyncio.get_running_loop()
        code = await loop.run_in_executor(None, qp.proc.wait, 15)
    assert code == 0
    assert len(statuses) > 50
    assert set(statuses) == {200}
    assert "drained; exiting" in qp.output()


async def test_drain_waits_for_a_long_request(user_app: int, start_qp) -> None:  # type: ignore[no-untyped-def]
    qp = start_qp(user_app, QUEUE_DRAIN_QUIET_PERIOD_SECONDS="0.5")
    async with aiohttp.ClientSession(timeout=TIMEOUT) as s:
        long = asyncio.ensure_future(s.get(qp.url + "/sleep?ms=2500"))

        async def at_the_app() -> bool:
            async with s.get(f"http://127.0.0.1:{user_app}/count") as r:
                return (await r.json())["inflight"] == 1
        await eventually(at_the_app, 5, "the long request at the user app", every=0.05)
        qp.proc.send_signal(signal.SIGTERM)
        r = await long
        assert (r.status, await r.text()) == (200, "slept 2500")
    code = await asyncio.get_running_loop().run_in_executor(None, qp.proc.wait, 15)
    assert code == 0


async def test_wait_for_drain_on_admin_port(qp: QueueProxy) -> None:
    async with aiohttp.ClientSession(timeout=TIMEOUT) as s:
        waiter = asyncio.ensure_future(s.get(f"http://127.0.0.1:{qp.admin_port}/wait-for-drain"))
        # the waiter's arrival starts the drain
        await eventually(lambda: _is(qp.probe(s), 503), 5, "probes failing", every=0.05)
        qp.proc.send_signal(signal.SIGTERM)
        r = await asyncio.wait_for(waiter, 10)
        assert r.status == 200
    assert await asyncio.get_running_loop().run_in_executor(None, qp.proc.wait, 15) == 0


def _start_fails(env: dict[str, str], logdir, name: str) -> str:  # type: ignore[no-untyped-def]
    log = logdir / f"bad-{name}.log"
    proc = spawn(python_module("knpy.queue_proxy"), env=env, log_path=log, cwd=REPO)
    try:
        code = proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        stop(proc)
        raise
    assert code == 1
    return log.read_text()


def test_malformed_env_fails_at_start_naming_the_variable(logdir) -> None:  # type: ignore[no-untyped-def]
    cases = {
        "CONTAINER_CONCURRENCY": "many",
        "USER_PORT": "70000",
        "QUEUE_SERVING_PORT": "http",
        "REVISION_TIMEOUT_SECONDS": "-5",
        "REVISION_IDLE_TIMEOUT_SECONDS": "soon",
        "SERVING_READINESS_PROBE": "{not json",
    }
    for name, value in cases.items():
        t0 = time.monotonic()
        out = _start_fails(qp_env(free_port(), **{name: value}), logdir, name)
        assert name in out, out
        assert "invalid configuration" in out
        assert time.monotonic() - t0 < 20


async def test_drain_waits_for_an_open_websocket(user_app: int, start_qp) -> None:  # type: ignore[no-untyped-def]
    qp = start_qp(user_app, QUEUE_DRAIN_QUIET_PERIOD_SECONDS="0.5")
    loop = asyncio.get_running_loop()
    async with aiohttp.ClientSession(timeout=TIMEOUT) as s:
        async with s.ws_connect(qp.url + "/ws") as ws:
            qp.proc.send_signal(signal.SIGTERM)
            # kept: well past the 0.5 s quiet period, which nothing reports the end of
            await asyncio.sleep(1.5)
            assert qp.proc.poll() is None  # the upgraded connection holds the drain open
            await ws.send_str("still here")
            assert (await ws.receive(timeout=5)).data == "still here"
        code = await loop.run_in_executor(None, qp.proc.wait, 15)
    assert code == 0
