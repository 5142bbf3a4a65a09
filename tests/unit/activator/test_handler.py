"""The activator's handler on the real proxy core, in-process, against a real upstream
(the aiohttp user app) on loopback. Probing is stubbed to pass: these tests are about
holding, limits and forwarding."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web

from knpy.activator.handler import ActivatorHandler
from knpy.activator.metrics import render
from knpy.activator.prober import Prober
from knpy.activator.revisions import RevisionConfig, Revisions
from knpy.activator.stats import ConcurrencyReporter
from knpy.runtime.contract.wirestat import decode_wire_stats
from knpy.runtime.proxy import Server
from tests.apps.userapp import make_app
from tests.support.poll import eventually

ROUTE = {"Knative-Serving-Namespace": "default", "Knative-Serving-Revision": "hello"}


@dataclass
class Act:
    base: str
    upstream: str
    revisions: Revisions
    frames: list[bytes]
    session: aiohttp.ClientSession
    down: set[str]  # backends whose probe fails

    async def get(self, path: str = "/", headers: dict[str, str] | None = None,
                  limit: float = 5) -> tuple[int, str]:
        async with self.session.get(self.base + path,
                                    headers=ROUTE if headers is None else headers,
                                    timeout=aiohttp.ClientTimeout(total=limit)) as r:
            return r.status, await r.text()


@pytest.fixture
async def act() -> AsyncIterator[Act]:
    runner = web.AppRunner(make_app(0), handle_signals=False, access_log=None,
                           handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    up = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    down: set[str] = set()

    async def passes(dest: str, limit: float) -> bool:
        return dest not in down

    loop = asyncio.get_running_loop()
    frames: list[bytes] = []
    reporter = ConcurrencyReporter("act", frames.append, loop.time)
    revisions = Revisions(Prober(probe=passes), reporter, queue_depth=2)
    server = Server(ActivatorHandler(revisions.by_key, reporter, loop.time))
    port = await server.listen("127.0.0.1", 0)
    async with aiohttp.ClientSession() as session:
        yield Act(f"http://127.0.0.1:{port}", f"127.0.0.1:{up}", revisions, frames, session,
                  down)
    await server.close()
    revisions.close()
    await runner.cleanup()


async def test_held_then_forwarded_with_activator_headers(act: Act) -> None:
    act.revisions.upsert(RevisionConfig("default", "hello", 1))
    held = asyncio.create_task(act.get("/headers", {**ROUTE, "K-Original-Host": "hello.example"}))
    rt = act.revisions.get("default/hello")
    await eventually(lambda: rt.pending == 1)
    assert not held.done()
    act.revisions.set_backends("default/hello", [act.upstream])
    status, body = await held
    assert status == 200
    seen = json.loads(body)
    assert seen["k-proxy-request"] == ["activator"]
    assert seen["k-original-host"] == ["hello.example"]  # for the queue-proxy, not us
    assert not any(k.startswith("knative-serving") for k in seen)
    tracker = next(iter(rt.trackers.values()))
    assert tracker.breaker.inflight == 0 and rt.pending == 0
    # the first request poked the autoscaler straight away
    [poke] = decode_wire_stats(act.frames[0])
    assert poke.key == "default/hello" and poke.stat.average_concurrent_requests == 1.0


async def test_host_naming_the_revisions_service_routes_without_headers(act: Act) -> None:
    """No ingress yet: a request to a revision's own Service (`<rev>.<ns>[.svc...]`) reaches
    the revision; any other Host without the routing headers is a 404 naming both ways."""
    act.revisions.upsert(RevisionConfig("default", "hello", 1), [act.upstream])
    rt = act.revisions.get("default/hello")
    await eventually(lambda: rt.assigned)
    for host in ("hello.default", "hello.default.svc", "hello.default.svc.cluster.local:80"):
        assert (await act.get("/", {"Host": host}))[0] == 200, host
    for host in ("hello.other.svc", "hello.default.example.com", "hello", "10.96.0.7"):
        status, body = await act.get("/", {"Host": host})
        assert status == 404 and "Host <revision>.<namespace>" in body, (host, body)


async def test_queue_full_is_503(act: Act) -> None:
    act.revisions.upsert(RevisionConfig("default", "hello", 1))
    held = [asyncio.create_task(act.get()) for _ in range(2)]
    rt = act.revisions.get("default/hello")
    await eventually(lambda: rt.pending == 2)
    assert await act.get() == (503, "pending request queue full\n")
    act.revisions.set_backends("default/hello", [act.upstream])
    assert [await h for h in held] == [(200, "hello")] * 2


async def test_wait_is_bounded_by_the_revision_timeout(act: Act) -> None:
    act.revisions.upsert(RevisionConfig("default", "hello", 0, timeout=0.2))
    assert await act.get() == (503, "context deadline exceeded\n")
    assert act.revisions.get("default/hello").pending == 0


async def test_client_leaving_frees_its_place(act: Act) -> None:
    act.revisions.upsert(RevisionConfig("default", "hello", 1))
    rt = act.revisions.get("default/hello")
    held = asyncio.create_task(act.get())
    await eventually(lambda: rt.pending == 1)
    held.cancel()
    await eventually(lambda: rt.pending == 0, 1, "the place freed")


async def test_revision_removed_while_waiting(act: Act) -> None:
    act.revisions.upsert(RevisionConfig("default", "hello", 0))
    rt = act.revisions.get("default/hello")
    held = asyncio.create_task(act.get())
    await eventually(lambda: rt.pending == 1)
    act.revisions.remove("default/hello")
    status, body = await held
    assert status == 503 and "removed" in body
    assert (await act.get())[0] == 404


async def test_cc1_overload_gives_exactly_the_queue_limit(act: Act) -> None:
    """CC 1, queue depth 2: of 5 concurrent requests 1 runs, 2 wait, 2 are refused."""
    act.revisions.upsert(RevisionConfig("default", "hello", 1), [act.upstream])
    await eventually(lambda: act.revisions.get("default/hello").assigned)
    res = await asyncio.gather(*(act.get("/sleep?ms=500") for _ in range(5)))
    assert sorted(res) == [(200, "slept 500")] * 3 + [(503, "pending request queue full\n")] * 2
    status, body = await act.get("/count")
    assert status == 200 and json.loads(body)["max_inflight"] == 1


async def test_refused_connection_goes_to_another_pod(act: Act) -> None:
    """Nothing of a request whose connection was refused reached the pod: it is sent to
    another pod instead of failing, and the dead pod leaves rotation."""
    import socket

    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{sk.getsockname()[1]}"
    act.revisions.upsert(RevisionConfig("default", "hello", 0), [act.upstream, dead])
    rt = act.revisions.get("default/hello")
    await eventually(lambda: len(rt.assigned) == 2)
    # CC 0 picks the less loaded of the two: load the live pod so the dead one is chosen
    act.down.add(dead)  # from now on its probe fails too
    live = next(t for t in rt.assigned if t.dest != dead)
    hold = live.breaker.reserve()
    assert await act.get("/") == (200, "hello")
    hold.release()
    assert [t.dest for t in rt.assigned] == [act.upstream]
    assert all(t.breaker.inflight == 0 for t in rt.trackers.values())


async def test_refused_connection_waits_for_a_busy_pod(act: Act) -> None:
    """CC 1, the live pod busy: the refused request queues and gets the live pod's slot as
    soon as it is released."""
    import socket

    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{sk.getsockname()[1]}"
    act.revisions.upsert(RevisionConfig("default", "hello", 1), [act.upstream, dead])
    rt = act.revisions.get("default/hello")
    await eventually(lambda: len(rt.assigned) == 2)
    act.down.add(dead)
    live = next(t for t in rt.assigned if t.dest != dead)
    hold = live.breaker.reserve()  # the live pod is busy: the dead one gets the request
    held = asyncio.create_task(act.get("/"))
    await eventually(lambda: rt.pending == 1)
    assert [t.dest for t in rt.assigned] == [act.upstream] and not held.done()
    hold.release()
    rt.wake()
    assert await held == (200, "hello")
    assert all(t.breaker.inflight == 0 for t in rt.trackers.values()) and rt.pending == 0


async def test_metrics_count_responses_by_class(act: Act) -> None:
    act.revisions.upsert(RevisionConfig("default", "hello", 4), [act.upstream])
    await eventually(lambda: act.revisions.get("default/hello").assigned)
    for path in ("/", "/", "/status/404", "/status/500"):
        await act.get(path)
    text = render(act.revisions.by_key).decode()
    lb = 'namespace_name="default",revision_name="hello"'
    for cls, n in (("2xx", 2), ("4xx", 1), ("5xx", 1), ("3xx", 0)):
        assert f'activator_request_count{{{lb},response_code_class="{cls}"}} {n}\n' in text
    assert f"activator_capacity{{{lb}}} 4\n" in text
    assert f"activator_assigned_pods{{{lb}}} 1\n" in text
    assert f"activator_request_concurrency{{{lb}}} 0\n" in text


async def test_probe_answers(act: Act) -> None:
    assert await act.get(headers={"K-Network-Probe": "activator"}) == (200, "activator")
    assert (await act.get(headers={"K-Network-Probe": "queue"}))[0] == 400
    assert await act.get(headers={"User-Agent": "kube-probe/1.31"}) == (200, "ok")
    # Knative's activator readiness probe sends this header (with any User-Agent).
    assert await act.get(headers={"K-Kubelet-Probe": "activator"}) == (200, "ok")


async def test_refused_connection_takes_the_pod_out_until_it_probes_again() -> None:
    """The only pod refuses connections: it leaves rotation, and the request (none of which
    reached it) waits in the queue instead of failing; the pod comes back on the same
    address and passes its probe, and the request is served."""
    import socket

    with socket.socket() as sk:  # a port nothing listens on
        sk.bind(("127.0.0.1", 0))
        dead = sk.getsockname()[1]
    healthy = {f"127.0.0.1:{dead}": True}

    async def probe(dest: str, limit: float) -> bool:
        return healthy.get(dest, False)

    runner = web.AppRunner(make_app(0), handle_signals=False, access_log=None)
    loop = asyncio.get_running_loop()
    reporter = ConcurrencyReporter("act", [].append, loop.time)
    revisions = Revisions(Prober(period=0.05, probe=probe), reporter)
    server = Server(ActivatorHandler(revisions.by_key, reporter, loop.time))
    port = await server.listen("127.0.0.1", 0)
    try:
        revisions.upsert(RevisionConfig("default", "hello", 0, timeout=30),
                         [f"127.0.0.1:{dead}"])
        rt = revisions.get("default/hello")
        await eventually(lambda: rt.assigned)
        healthy[f"127.0.0.1:{dead}"] = False  # from now on its probe fails
        async with aiohttp.ClientSession() as s:
            url = f"http://127.0.0.1:{port}/"
            held = asyncio.create_task(s.get(url, headers=ROUTE))
            await eventually(lambda: rt.pending == 1)  # refused, out of rotation, queued again
            assert rt.assigned == [] and not held.done()
            # the pod comes back on the same address and passes its probe
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", dead).start()
            healthy[f"127.0.0.1:{dead}"] = True
            r = await asyncio.wait_for(held, 5)
            assert r.status == 200 and await r.text() == "hello"
            r.release()
    finally:
        await server.close()
        revisions.close()
        await runner.cleanup()


async def test_pod_that_never_answers_gets_504_and_frees_the_slot(act: Act) -> None:
    """Issue 9 defect 4: a pod that accepts a request and never answers held the client
    (and, at CC 1, the revision's only slot) forever. After the revision's timeout the
    client gets Knative's 504 `activator request timeout` and the next request runs."""
    act.revisions.upsert(RevisionConfig("default", "hello", 1, timeout=1.0), [act.upstream])
    rt = act.revisions.get("default/hello")
    await eventually(lambda: rt.assigned)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    stuck = asyncio.create_task(act.get("/sleep?ms=30000"))
    await asyncio.sleep(0.5)
    nxt = await act.get("/", limit=10)  # waits behind it, for at most its own 1 s
    assert await stuck == (504, "activator request timeout")
    assert nxt == (200, "hello")  # was queued behind the stuck one, then got its slot
    assert loop.time() - t0 < 3
    assert rt.assigned[0].breaker.inflight == 0 and rt.pending == 0
    text = render(act.revisions.by_key).decode()
    assert 'response_code_class="5xx"} 1\n' in text


async def test_request_dialing_a_pod_that_leaves_the_endpoints_is_still_answered(
        act: Act) -> None:
    """Scale-down: the endpoints drop a pod while a request's connection to it is still
    being set up. The pod is draining, not gone: the request goes out once connected and
    is answered. (Closing the pod's pool used to cancel the dial, leaving the request
    unanswered until its timeout.)"""
    # A listener with a full accept queue: the kernel drops further SYNs, so a dial to it
    # stays in progress until the listener is served (the SYN is retried after 1 s).
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(0)
    lsock.setblocking(False)
    port = lsock.getsockname()[1]
    fillers = [socket.create_connection(("127.0.0.1", port), timeout=1)]  # queue now full
    dest = f"127.0.0.1:{port}"
    act.revisions.upsert(RevisionConfig("default", "hello", 0, timeout=10.0), [dest])
    rt = act.revisions.get("default/hello")
    await eventually(lambda: rt.assigned)
    req = asyncio.create_task(act.get("/", limit=8))
    await asyncio.sleep(0.3)
    assert not req.done()
    act.revisions.set_backends("default/hello", [])  # the pod left the endpoints

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\ndraining")
            await writer.drain()
        writer.close()

    for f in fillers:
        f.close()
    srv = await asyncio.start_server(answer, sock=lsock)
    try:
        assert await req == (200, "draining")
    finally:
        srv.close()
        await srv.wait_closed()


async def test_pooled_connection_closed_by_a_pod_that_stopped_is_retried_elsewhere(
        act: Act) -> None:
    """A pod's queue-proxy ends its drain while this activator still routes to it: it
    closes the reused keep-alive connection the request arrives on, unanswered, and no
    longer listens. The GET goes again on a fresh connection, which is refused, so it goes
    to the other pod: the client sees one 200."""
    served = arrived = 0
    srv: asyncio.Server | None = None

    async def pod(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal served, arrived
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                await reader.readuntil(b"\r\n\r\n")
                arrived += 1
                if served:
                    assert srv is not None
                    srv.close()  # drained: the listener closes, and so does this connection
                    break
                served += 1
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst")
                await writer.drain()
        writer.close()

    srv = await asyncio.start_server(pod, "127.0.0.1", 0)
    stopping = f"127.0.0.1:{srv.sockets[0].getsockname()[1]}"
    act.revisions.upsert(RevisionConfig("default", "hello", 0), [stopping])
    rt = act.revisions.get("default/hello")
    await eventually(lambda: rt.assigned)
    assert await act.get("/") == (200, "first")  # its connection is now pooled
    act.revisions.set_backends("default/hello", [stopping, act.upstream])
    await eventually(lambda: len(rt.assigned) == 2)
    live = next(t for t in rt.assigned if t.dest == act.upstream)
    busy = live.breaker.reserve()  # the less loaded pod wins: the stopping one
    assert busy is not None
    act.down.add(stopping)  # its probes fail from now on
    try:
        assert await act.get("/") == (200, "hello")
    finally:
        busy.release()
    assert (served, arrived) == (1, 2)  # the GET reached the stopping pod, unanswered
    assert [t.dest for t in rt.assigned] == [act.upstream]  # refused: out of rotation
    await srv.wait_closed()
