"""A tiny raw HTTP/1.1 client for tests that need exact bytes (pipelining, bad input)."""

from __future__ import annotations

import asyncio


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[bytes, bytes], bytes]:
    """Read one response (Content-Length or chunked body); headers lower-cased."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head[:-4].split(b"\r\n")
    status = int(lines[0].split(b" ")[1])
    headers: dict[bytes, bytes] = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(b":")
        headers[k.strip().lower()] = v.strip()
    if b"content-length" in headers:
        body = await reader.readexactly(int(headers[b"content-length"]))
    elif headers.get(b"transfer-encoding") == b"chunked":
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n"))[:-2], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        body = b"".join(parts)
    elif status in (204, 304) or 100 <= status < 200:
        body = b""
    else:
        body = await reader.read()
    return status, headers, body


async def until_closed(port: int, request: bytes, answered: list[int],
                       failed: list[str]) -> None:
    """Send `request` on one keep-alive connection over and over until an answer says
    `Connection: close`; statuses go to `answered`, a request left unanswered to `failed`
    (what a draining server must never do)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while True:
            writer.write(request)
            try:
                status, headers, _ = await asyncio.wait_for(read_response(reader), 10)
            except (OSError, asyncio.IncompleteReadError) as e:
                failed.append(repr(e))
                return
            answered.append(status)
            if headers.get(b"connection") == b"close":
                return
    finally:
        writer.close()
