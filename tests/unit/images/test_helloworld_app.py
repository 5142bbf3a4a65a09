"""The helloworld sample answers each request with one write to its socket: a head and a
body written apart let Nagle hold the body until the proxy in front ACKs the head, which a
delayed ACK puts off by 40 ms (the load ramp saw it: docs/loadtest.md)."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[3]


def load_app() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "helloworld_app", REPO / "hack/images/helloworld/app.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class Raw(io.RawIOBase):
    def __init__(self, writes: list[bytes]) -> None:
        self.writes = writes

    def writable(self) -> bool:
        return True

    def write(self, b: bytes) -> int:  # type: ignore[override]
        self.writes.append(bytes(b))
        return len(b)


class Connection:
    """What socketserver's handler uses of a socket, recording every write that reaches it."""

    def __init__(self, request: bytes) -> None:
        self.request = request
        self.writes: list[bytes] = []

    def makefile(self, mode: str, bufsize: int = -1) -> io.IOBase:
        if "r" in mode:
            return io.BufferedReader(io.BytesIO(self.request))
        return io.BufferedWriter(Raw(self.writes), max(bufsize, 1))

    def sendall(self, b: bytes) -> None:  # unbuffered handlers write here
        self.writes.append(bytes(b))

    def settimeout(self, _t: float | None) -> None: ...


def test_one_write_per_answer() -> None:
    app = load_app()
    conn = Connection(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    app.Hello(conn, ("127.0.0.1", 1), object())
    assert len(conn.writes) == 1, conn.writes
    head, _, body = conn.writes[0].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert body == b"Hello World!\n"
