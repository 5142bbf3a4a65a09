"""runtime.proxy.health: the controller's and sources' kubelet probe port, on the core
(issue 9: one server core, so a limit added once holds on every listener)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import pytest

from knpy.runtime.proxy.app import AppServer
from knpy.runtime.proxy.health import serve_probes
from tests.support import httpfuzz
from tests.unit.proxy.rawclient import read_response


class State:
    healthy: str | None = None
    ready: str | None = "caches not synced"


@pytest.fixture
async def probes() -> AsyncIterator[tuple[State, AppServer, int]]:
    st = State()
    srv = await serve_probes("127.0.0.1", 0, healthy=lambda: st.healthy,
                             ready=lambda: st.ready)
    port = srv._listeners[0].sockets[0].getsockname()[1]
    yield st, srv, port
    await srv.close()


async def ask(port: int, data: bytes) -> tuple[int, dict[bytes, bytes], bytes]:
    r, w = await asyncio.open_connection("127.0.0.1", port)
    try:
        w.write(data)
        return await asyncio.wait_for(read_response(r), 5)
    finally:
        w.close()


def get(path: bytes, method: bytes = b"GET") -> bytes:
    return b"%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n" % (method, path)


async def test_answers_as_before(probes) -> None:
    st, _, port = probes
    assert (await ask(port, get(b"/healthz")))[::2] == (200, b"ok")
    status, headers, body = await ask(port, get(b"/readyz"))
    assert (status, body) == (503, b"caches not synced")
    assert headers[b"content-type"] == b"text/plain; charset=utf-8"
    st.ready = None
    st.healthy = "stopped: informer"
    assert (await ask(port, get(b"/readyz?x=1")))[::2] == (200, b"ok")
    assert (await ask(port, get(b"/healthz")))[::2] == (503, b"stopped: informer")
    assert (await ask(port, get(b"/metrics")))[::2] == (404, b"404: Not Found")
    status, headers, body = await ask(port, get(b"/healthz", b"POST"))
    assert (status, headers[b"allow"], body) == (405, b"GET,HEAD", b"405: Method Not Allowed")


async def test_head_over_64k_gets_431(probes) -> None:
    _, _, port = probes
    big = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"v" * 100_000 + b"\r\n\r\n"
    assert (await ask(port, big))[0] == 431


async def test_unfinished_head_gets_408(probes) -> None:
    _, srv, port = probes
    srv.options = dataclasses.replace(srv.options, header_timeout=0.5)
    status, _, body = await ask(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slo")
    assert (status, body) == (408, b"request header timeout\n")


async def test_fuzzed_requests_get_an_answer_or_a_close(probes, caplog) -> None:
    """The shared seeded generator (tests/support/httpfuzz.py), bounded: every malformed
    head or body gets an answer or a close, nothing is logged as an error, and the port
    still answers afterwards."""
    _, _, port = probes
    failures = await asyncio.wait_for(httpfuzz.run(port, httpfuzz.cases(9200, 200), seed=9200),
                                      120)
    assert failures == [], failures[:5]
    assert (await ask(port, get(b"/healthz")))[0] == 200
    assert [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")] == []
