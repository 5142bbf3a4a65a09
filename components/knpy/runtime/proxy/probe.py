"""One HTTP GET probe on a fresh connection: the activator's pod probe and the
queue-proxy's readiness probe of the user container both use it.

Each probe opens a connection (TLS without verification when asked, as the kubelet probes
HTTPS), sends one `Connection: close` request and reads the status line and, when the
caller wants it, a body of at most 64 KiB (until Content-Length is satisfied or EOF). Any
failure (refused, reset, timeout, a malformed answer) is None: probes only want to know
whether the answer came and what it said.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl  # already loaded by asyncio
from collections.abc import Iterable
from typing import NamedTuple

__all__ = ["MAX_BODY", "ProbeAnswer", "get_request", "insecure_tls", "probe", "request"]

MAX_BODY = 64 * 1024


class ProbeAnswer(NamedTuple):
    status: int  # 0 for a connect-only probe
    body: bytes  # empty unless asked for


def request(method: str, path: str, host: str,
            headers: Iterable[tuple[str, str]] = ()) -> bytes:
    """The bytes of a bodiless request that closes the connection after the answer."""
    req = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n"
    for k, v in headers:
        req += f"{k}: {v}\r\n"
    return (req + "Connection: close\r\n\r\n").encode("latin-1")


def get_request(path: str, host: str, headers: Iterable[tuple[str, str]] = ()) -> bytes:
    """The bytes of a `GET path` that closes the connection after the answer."""
    return request("GET", path, host, headers)


def insecure_tls() -> ssl.SSLContext:
    """TLS that checks neither the name nor the chain (the kubelet's HTTPS probes)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


async def probe(host: str, port: int, request: bytes | None, limit: float, *,
                tls: ssl.SSLContext | None = None, body: bool = False) -> ProbeAnswer | None:
    """Send `request` (None: connect only) and return the answer, or None on any failure
    or after `limit` seconds in all."""
    writer = None
    try:
        async with asyncio.timeout(limit):
            reader, writer = await asyncio.open_connection(host, port, ssl=tls)
            if request is None:
                return ProbeAnswer(0, b"")
            writer.write(request)
            if not body:
                return _status(await reader.readline())
            data = b""
            while len(data) < MAX_BODY:
                chunk = await reader.read(MAX_BODY)
                if not chunk:
                    break
                data += chunk
                if _complete(data):
                    break
    except (OSError, TimeoutError, ValueError):  # ssl.SSLError is an OSError
        return None
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
    head, sep, rest = data.partition(b"\r\n\r\n")
    answer = _status(head.split(b"\r\n", 1)[0]) if sep else None
    return answer._replace(body=rest) if answer is not None else None


def _status(line: bytes) -> ProbeAnswer | None:
    parts = line.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        return None
    return ProbeAnswer(int(parts[1]), b"")


def _complete(data: bytes) -> bool:
    """True once a Content-Length-framed response is all here (saves waiting for EOF)."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return value.strip().isdigit() and len(body) >= int(value.strip())
    return False
