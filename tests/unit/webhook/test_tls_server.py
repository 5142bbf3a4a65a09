"""The webhook's HTTPS listener on the proxy core (issue 9: one server core): the core's
431 and 408 over TLS, and a certificate rotation reaching new connections."""

from __future__ import annotations

import asyncio
import dataclasses
import ssl
from collections.abc import AsyncIterator

import pytest

from knpy.runtime.proxy.app import AppServer
from knpy.webhook.admission import Handlers
from knpy.webhook.certs import CertBundle, generate
from knpy.webhook.server import load_bundle, make_server, ssl_context
from tests.unit.proxy.rawclient import read_response


@pytest.fixture
async def https() -> AsyncIterator[tuple[CertBundle, ssl.SSLContext, AppServer, int]]:
    bundle = generate(["127.0.0.1"])
    ctx = ssl_context(bundle)
    server = make_server(lambda: Handlers())
    port = await server.listen("127.0.0.1", 0, ssl=ctx)
    yield bundle, ctx, server, port
    await server.close()


def trusting(bundle: CertBundle) -> ssl.SSLContext:
    return ssl.create_default_context(cadata=bundle.ca_pem.decode())


async def ask(port: int, client: ssl.SSLContext, data: bytes) -> tuple[int, bytes]:
    r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port, ssl=client), 5)
    try:
        w.write(data)
        status, _, body = await asyncio.wait_for(read_response(r), 5)
        return status, body
    finally:
        w.close()


HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"


async def test_a_rotated_certificate_is_presented_to_new_connections(https) -> None:
    old, ctx, _, port = https
    assert await ask(port, trusting(old), HEALTHZ) == (200, b"ok")
    new = generate(["127.0.0.1"])  # another CA, as a rotation by another replica brings
    load_bundle(ctx, new)
    assert await ask(port, trusting(new), HEALTHZ) == (200, b"ok")
    with pytest.raises(ssl.SSLCertVerificationError):
        await ask(port, trusting(old), HEALTHZ)


async def test_request_head_over_64k_gets_431_over_tls(https) -> None:
    bundle, _, _, port = https
    big = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"v" * 100_000 + b"\r\n\r\n"
    assert await ask(port, trusting(bundle), big) == (431, b"request header fields too large\n")


async def test_unfinished_head_gets_408_over_tls(https) -> None:
    bundle, _, server, port = https
    server.options = dataclasses.replace(server.options, header_timeout=0.5)
    status, body = await ask(port, trusting(bundle), b"POST /validation HTTP/1.1\r\nHost: x")
    assert (status, body) == (408, b"request header timeout\n")


async def test_a_review_over_3_mib_gets_413(https) -> None:
    bundle, _, _, port = https
    body = b"[" + b"0," * (2 << 20) + b"0]"
    status, _ = await ask(port, trusting(bundle), b"POST /validation HTTP/1.1\r\nHost: x\r\n"
                          b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    assert status == 413
