"""The activator as a process, with knpy's queue-proxy and the test user app, on loopback."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

import aiohttp

from tests.integration.activator.conftest import (
    ROUTE,
    Stack,
    get,
    until_status,
    write_config,
)
from tests.support.poll import eventually
from tests.support.procs import free_port, python_module, spawn


async def test_probes_routing_and_headers(stack: Stack, tmp_path: Path) -> None:
    app = stack.user_app()
    qp = stack.queue_proxy(app)
    port, _ = stack.activator("--revision", "default/hello", "--backend", f"127.0.0.1:{qp}")
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as s:
        assert await get(s, base + "/", {"K-Network-Probe": "activator"}) == (200, "activator")
        status, _ = await get(s, base + "/", {"K-Network-Probe": "bogus"})
        assert status == 400
        assert (await get(s, base + "/", {"User-Agent": "kube-probe/1.30"}))[0] == 200
        status, body = await get(s, base + "/headers", {})
        assert status == 404 and "Knative-Serving-Revision" in body
        status, body = await get(s, base + "/", {**ROUTE, "Knative-Serving-Revision": "nope"})
        assert status == 404 and '"nope" not found' in body
        await until_status(s, base + "/", 200, 10)
        status, body = await get(s, base + "/headers", {**ROUTE, "K-Original-Host": "h.example"})
        seen = json.loads(body)
        assert seen["k-proxy-request"] == ["activator"]
        # passed on by the activator, turned back into Host by the queue-proxy
        assert seen["host"] == ["h.example"]
        assert "knative-serving-revision" not in seen and "knative-serving-namespace" not in seen


async def test_request_held_until_a_probed_backend_appears(stack: Stack, tmp_path: Path) -> None:
    """Scale-from-zero shape: no backend -> held; a queue-proxy whose user container is not
    up yet -> still held (its probe fails; forwarding would give 502); the user container
    starts -> the held requests are served."""
    cfg = tmp_path / "activator.yaml"
    write_config(cfg, [{"name": "hello", "backends": []}])
    port, _ = stack.activator("--config", str(cfg))
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as s:
        held = [asyncio.create_task(get(s, f"{base}/sleep?ms=10")) for _ in range(3)]
        await eventually(lambda: _gauge(s, stack.metrics_port, "activator_requests_pending", 3),
                         10, "three requests held")
        assert not any(t.done() for t in held)

        user_port = free_port()
        qp = stack.queue_proxy(user_port)  # the user app is not listening yet
        write_config(cfg, [{"name": "hello", "backends": [f"127.0.0.1:{qp}"]}])
        await eventually(lambda: _gauge(s, stack.metrics_port, "activator_pods", 1), 10,
                         "the backend known")
        # kept: several 200 ms probe rounds, all failing (the prober reports no attempts)
        await asyncio.sleep(1.0)
        assert not any(t.done() for t in held), [t.result() for t in held if t.done()]

        stack.user_app(user_port)
        results = await asyncio.wait_for(asyncio.gather(*held), 20)
        assert results == [(200, "slept 10")] * 3
    log = stack.log("activator-")
    assert "healthy after" in log


async def test_backend_removed_from_the_file(stack: Stack, tmp_path: Path) -> None:
    app = stack.user_app()
    qp = stack.queue_proxy(app)
    cfg = tmp_path / "activator.yaml"
    write_config(cfg, [{"name": "hello", "backends": [f"127.0.0.1:{qp}"],
                        "timeoutSeconds": 1}])
    port, _ = stack.activator("--config", str(cfg))
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as s:
        assert await until_status(s, base + "/", 200, 10) == (200, "hello")
        write_config(cfg, [{"name": "hello", "backends": [], "timeoutSeconds": 1}])
        # No backend any more: held for the revision's timeout (1 s), then 503.
        _, body = await until_status(s, base + "/", 503, 10)
        assert "context deadline exceeded" in body


async def test_cc1_across_two_pods(stack: Stack) -> None:
    """containerConcurrency 1: the activator's per-pod breakers alone keep each user app at
    one request at a time (the queue-proxies here have no breaker: CC 0) and use both."""
    apps = [stack.user_app(), stack.user_app()]
    qps = [stack.queue_proxy(a, cc=0) for a in apps]
    port, _ = stack.activator("--revision", "default/hello", "--container-concurrency", "1",
                              *[x for q in qps for x in ("--backend", f"127.0.0.1:{q}")])
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as s:
        await eventually(lambda: _assigned(s, stack.metrics_port, 2), 10, "both pods probed")
        results = await asyncio.gather(*(get(s, f"{base}/sleep?ms=150") for _ in range(8)))
        assert results == [(200, "slept 150")] * 8
        counts = [json.loads((await get(s, f"http://127.0.0.1:{a}/count", {}))[1])
                  for a in apps]
    assert [c["max_inflight"] for c in counts] == [1, 1]
    # the 8 sleeps split over both pods (each count includes its own /count request)
    assert all(c["total"] >= 2 for c in counts) and sum(c["total"] for c in counts) == 10, counts


async def _assigned(s: aiohttp.ClientSession, metrics_port: int, n: int) -> bool:
    return await _gauge(s, metrics_port, "activator_assigned_pods", n)


async def _gauge(s: aiohttp.ClientSession, metrics_port: int, name: str, n: int) -> bool:
    """The activator's gauge `name` for default/hello reads n."""
    _, text = await get(s, f"http://127.0.0.1:{metrics_port}/metrics", {})
    return f'{name}{{namespace_name="default",revision_name="hello"}} {n}\n' in text


async def test_queue_full_gives_503(stack: Stack) -> None:
    port, _ = stack.activator("--revision", "default/hello", "--queue-depth", "2")
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as s:
        held = [asyncio.create_task(get(s, base + "/", limit=10)) for _ in range(2)]
        lb = 'namespace_name="default",revision_name="hello"'
        metrics_url = f"http://127.0.0.1:{stack.metrics_port}/metrics"

        async def two_pending() -> bool:
            return f"activator_requests_pending{{{lb}}} 2" in (await get(s, metrics_url, {}))[1]

        await eventually(two_pending, 10, "both requests held")
        assert await get(s, base + "/") == (503, "pending request queue full\n")
        metrics = (await get(s, metrics_url, {}))[1]
        assert f'activator_request_count{{{lb},response_code_class="5xx"}} 1' in metrics
        assert f"activator_capacity{{{lb}}} 0" in metrics
        for t in held:
            t.cancel()
        await asyncio.gather(*held, return_exceptions=True)


async def test_bad_config_fails_at_start_naming_the_field(stack: Stack, tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("revisions:\n  - name: hello\n    backends: [nope]\n")
    port = free_port()
    proc = spawn(python_module("knpy.activator", "--port", str(port), "--config", str(cfg)),
                 log_path=tmp_path / "bad.log")
    stack.procs.append(proc)
    assert proc.wait(timeout=15) == 2
    out = (tmp_path / "bad.log").read_text()
    assert "revisions[0].backends[0]" in out, out
    proc2 = spawn(python_module("knpy.activator", "--port", "99999"),
                  log_path=tmp_path / "bad2.log")
    stack.procs.append(proc2)
    assert proc2.wait(timeout=15) == 2
    assert "--port" in (tmp_path / "bad2.log").read_text()


async def test_sigterm_drains_without_losing_requests(stack: Stack) -> None:
    """SIGTERM: kubelet probes fail at once, new requests are still served during the quiet
    period, requests in flight finish, then the process exits 0."""
    app = stack.user_app()
    qp = stack.queue_proxy(app)
    port, proc = stack.activator("--revision", "default/hello", "--backend", f"127.0.0.1:{qp}",
                                 "--drain-quiet-period", "1", "--drain-timeout", "10")
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as s:
        await until_status(s, base + "/", 200, 10)
        slow = [asyncio.create_task(get(s, base + "/sleep?ms=800")) for _ in range(5)]
        await eventually(lambda: _gauge(s, stack.metrics_port, "activator_request_concurrency",
                                        5), 5, "five requests in flight", every=0.02)
        os.kill(proc.pid, signal.SIGTERM)

        async def probe_fails() -> bool:
            return (await get(s, base + "/", {"User-Agent": "kube-probe/1.31"}))[0] == 500

        await eventually(probe_fails, 5, "kubelet probes failing")
        assert await get(s, base + "/") == (200, "hello")  # still served while draining
        assert await asyncio.gather(*slow) == [(200, "slept 800")] * 5
    assert await asyncio.to_thread(proc.wait, 15) == 0
    assert "SIGTERM: draining" in stack.log("activator-")


async def test_two_activators_split_the_pods(stack: Stack, tmp_path: Path) -> None:
    """Subsetting between processes: 3 pods, 2 activators (IPs from the shared file, own IP
    from --pod-ip). Sorted by address, activator 0 owns pods 0 and 2 (slice + remnant),
    activator 1 owns pod 1; each sends only to its own."""
    apps = [stack.user_app() for _ in range(3)]
    qps = [stack.queue_proxy(a) for a in apps]
    order = sorted(range(3), key=lambda i: f"127.0.0.1:{qps[i]}")  # pods by address
    cfg = tmp_path / "activators.yaml"
    cfg.write_text(json.dumps({"activators": ["10.0.0.2", "10.0.0.1"], "revisions": [
        {"name": "hello", "backends": [f"127.0.0.1:{q}" for q in qps]}]}))
    ports = [stack.activator("--config", str(cfg), "--pod-ip", ip)[0]
             for ip in ("10.0.0.1", "10.0.0.2")]
    async with aiohttp.ClientSession() as s:
        totals = []
        for port in ports:
            base = f"http://127.0.0.1:{port}"
            await until_status(s, base + "/", 200, 10)
            before = [await _total(s, a) for a in apps]
            assert all(st == 200 for st, _ in await asyncio.gather(
                *(get(s, base + "/") for _ in range(12))))
            # requests each app saw in between (its own second /count call excluded)
            totals.append([await _total(s, a) - b - 1 for a, b in zip(apps, before, strict=True)])
    by_activator = [{i for i in range(3) if t[i] > 0} for t in totals]
    assert by_activator == [{order[0], order[2]}, {order[1]}], totals


async def _total(s: aiohttp.ClientSession, app_port: int) -> int:
    _, body = await get(s, f"http://127.0.0.1:{app_port}/count", {})
    return json.loads(body)["total"]


async def test_pod_killed_under_load(stack: Stack) -> None:
    """Two pods under steady load; one pod's queue-proxy and app are SIGKILLed. Only the
    requests in flight on it can fail (4 clients: at most 4); a request whose connection is
    refused goes to the other pod, the dead one leaves rotation, and every later request is
    served although the backend list (flags) still names it."""
    apps, qps, victims = [], [], []
    for _ in range(2):
        apps.append(stack.user_app())
        app_proc = stack.procs[-1]
        qps.append(stack.queue_proxy(apps[-1]))
        victims.append((stack.procs[-1], app_proc))
    port, _ = stack.activator("--revision", "default/hello",
                              *[x for q in qps for x in ("--backend", f"127.0.0.1:{q}")])
    base = f"http://127.0.0.1:{port}"
    statuses: list[int] = []
    forty = asyncio.Event()
    async with aiohttp.ClientSession() as s:
        await until_status(s, base + "/", 200, 10)

        async def client() -> None:
            for _ in range(60):
                statuses.append((await get(s, base + "/sleep?ms=5"))[0])
                if len(statuses) >= 40:
                    forty.set()

        clients = [asyncio.create_task(client()) for _ in range(4)]
        await forty.wait()
        for proc in victims[1]:
            os.kill(proc.pid, signal.SIGKILL)
        await asyncio.gather(*clients)
    failed = [i for i, st in enumerate(statuses) if st != 200]
    assert len(statuses) == 240
    assert all(statuses[i] == 502 for i in failed), statuses
    assert len(failed) <= 4, failed  # at most the requests in flight on the killed pod
    assert all(st == 200 for st in statuses[-150:]), statuses
    assert "refused a connection" in stack.log("activator-")
