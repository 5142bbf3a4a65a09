"""A seeded generator of malformed HTTP/1.1 requests, and a client that throws them at a
listener and requires, for each, an answer or a close within a time limit (never a hang).

Bounded: a fixed number of cases from a fixed seed, so a failure replays exactly.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import time
from pathlib import Path

BASES = (
    b"GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: fuzz\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
    b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5\r\nhello\r\n0\r\n\r\n",
    b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: text/plain\r\n\r\n",
)
_ODD_LINES = (
    b"Content-Length: -1", b"Content-Length: 99999999999999999999", b"Content-Length: 5, 6",
    b"Content-Length: abc", b"Transfer-Encoding: gzip", b"Transfer-Encoding: chunked, chunked",
    b"Transfer-Encoding:\x0bchunked", b" folded: continuation", b"Host: y", b"Host:",
    b"X-Nul: a\x00b", b"X-\xff\xfe: v", b"Connection: close, X-Gone", b"Upgrade: websocket",
    b"Connection: upgrade", b"Expect: 100-continue", b"K-Network-Probe: queue",
    b"K-Network-Probe: probe", b"K-Original-Host: \x7f", b"Knative-Serving-Namespace: default",
    b"Knative-Serving-Revision: hello", b"Idempotency-Key: k", b": no-name", b"NoColon",
    b"X-Space : v", b"X-Tab:\tv\t",
)
_ODD_STARTS = (
    b"CONNECT x:443 HTTP/1.1", b"GET http://other:1234/p?q HTTP/1.1", b"GET * HTTP/1.1",
    b"OPTIONS * HTTP/1.1", b"G\x00T / HTTP/1.1", b"GET / HTTP/9.9", b"GET / HTTP/1.1x",
    b"GET /a b HTTP/1.1", b"GET", b"\r\n\r\nGET / HTTP/1.1", b"PRI * HTTP/2.0",
    b"GET / HTTP/1.0", b"DELETE /x HTTP/1.1", b"GET //../../etc/passwd HTTP/1.1",
)
_ODD_CHUNKS = (b"ffffffffffffffffff\r\n", b"-1\r\n", b"5;ext=\x00\r\nhello\r\n", b"5\r\nhel",
               b"0\r\nTrailer: x\r\n\r\n", b"z\r\n", b"5\nhello\n0\n\n")


def _mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    kind = rng.randrange(12)
    if kind == 0 and b:  # flip bytes
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(len(b))] = rng.randrange(256)
    elif kind == 1:  # insert random bytes
        at = rng.randint(0, len(b))
        b[at:at] = rng.randbytes(rng.randint(1, 64))
    elif kind == 2 and b:  # delete a slice
        at = rng.randrange(len(b))
        del b[at:at + rng.randint(1, 16)]
    elif kind == 3 and b:  # duplicate a slice
        at = rng.randrange(len(b))
        b[at:at] = b[at:at + rng.randint(1, 32)]
    elif kind == 4:  # truncate
        del b[rng.randint(0, len(b)):]
    elif kind == 5:  # an odd header line
        at = b.find(b"\r\n") + 2
        b[at:at] = rng.choice(_ODD_LINES) + b"\r\n"
    elif kind == 6:  # an odd request line
        end = b.find(b"\r\n")
        b[:end if end >= 0 else 0] = rng.choice(_ODD_STARTS)
    elif kind == 7:  # an odd chunk after the head
        b += rng.choice(_ODD_CHUNKS)
    elif kind == 8:  # bare LF line endings
        b = bytearray(bytes(b).replace(b"\r\n", b"\n"))
    elif kind == 9:  # a huge header value or URL (past the 64 KiB head limit, or near it)
        size = rng.choice((60_000, 70_000, 200_000))
        if rng.random() < 0.5:
            at = b.find(b"\r\n") + 2
            b[at:at] = b"X-Big: " + b"v" * size + b"\r\n"
        else:
            b[4:5] = b"/" + b"u" * size
    elif kind == 10:  # very many small headers
        at = b.find(b"\r\n") + 2
        b[at:at] = b"".join(b"X-H%d: %d\r\n" % (i, i) for i in range(rng.randint(100, 5000)))
    else:  # random garbage only
        b = bytearray(rng.randbytes(rng.randint(1, 300)))
    return bytes(b)


def cases(seed: int, count: int) -> list[bytes]:
    """`count` malformed inputs: one or more (mutated) requests back to back."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        parts = []
        for _ in range(rng.choice((1, 1, 1, 2, 3, 20))):
            data = rng.choice(BASES)
            for _ in range(rng.randint(1, 3)):
                data = _mutate(rng, data)
            parts.append(data)
        out.append(b"".join(parts))
    return out


async def throw(port: int, data: bytes, seed: int, limit: float) -> str | None:
    """Send `data` (in one write or in random pieces), half-close, and read until the
    server closes. Returns None, or what went wrong (a hang past `limit`)."""
    rng = random.Random(seed)
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port), limit)
    except (OSError, TimeoutError) as e:
        return f"connect: {e!r}"
    try:
        with contextlib.suppress(OSError):  # the server may refuse and reset mid-send
            if rng.random() < 0.5:
                writer.write(data)
            else:
                at = 0
                while at < len(data):
                    n = rng.randint(1, max(1, len(data) // 4))
                    writer.write(data[at:at + n])
                    at += n
                    await writer.drain()
                    await asyncio.sleep(0)
            await writer.drain()
            writer.write_eof()
        try:
            async with asyncio.timeout(limit):
                while await reader.read(65536):
                    pass
        except TimeoutError:
            return f"no answer and no close within {limit}s for {data[:200]!r}"
        except OSError:
            pass  # a reset is a close
        return None
    finally:
        writer.close()


async def run(port: int, inputs: list[bytes], *, seed: int, limit: float = 15.0,
              parallel: int = 16) -> list[str]:
    """Throw every input at 127.0.0.1:port, `parallel` at a time; returns the failures."""
    sem = asyncio.Semaphore(parallel)

    async def one(i: int, data: bytes) -> str | None:
        async with sem:
            return await throw(port, data, seed + i, limit)

    got = await asyncio.gather(*(one(i, d) for i, d in enumerate(inputs)))
    return [f"case {i}: {g}" for i, g in enumerate(got) if g is not None]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def still_answers(port: int, request: bytes, timeout: float = 10.0) -> bytes:
    """One blocking request on a fresh connection; the first bytes of the answer."""
    deadline = time.monotonic() + timeout
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data and time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        return data
