"""Real processes for the broker tests: nats-server with a temp store dir, the broker's
ingress and dispatcher as separate processes, and in-process HTTP subscribers."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from multidict import CIMultiDict

from tests.support.poll import eventually
from tests.support.procs import (
    free_port,
    nats_server,
    nats_server_argv,
    python_module,
    spawn,
    stop,
    wait_port,
)

NATS = nats_server()


class Nats:
    def __init__(self, store_dir: Path, logdir: Path) -> None:
        self.port = free_port()
        self.store_dir = store_dir
        self.logdir = logdir
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.starts += 1
        self.proc = spawn(nats_server_argv(self.store_dir, self.port),
                          log_path=self.logdir / f"nats-{self.starts}.log")
        wait_port(self.port, proc=self.proc)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None:
            stop(self.proc, sig)
            self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    async def consumers(self) -> list[Any]:
        """ConsumerInfo of every consumer of every stream (each trigger has one)."""
        import nats as natspy

        nc = await natspy.connect(self.url)
        try:
            js = nc.jetstream()
            return [c for st in await js.streams_info()
                    for c in await js.consumers_info(st.config.name)]
        finally:
            await nc.close()


@pytest.fixture
def nats(tmp_path: Path, logdir: Path) -> Iterator[Nats]:
    n = Nats(tmp_path / "jetstream", logdir)
    n.start()
    yield n
    n.stop()


class Broker:
    """Ingress and dispatcher as two processes reading one contract file."""

    def __init__(self, nats: Nats, workdir: Path, logdir: Path) -> None:
        self.nats = nats
        self.contract = workdir / "contract.yaml"
        self.logdir = logdir
        self.port = free_port()
        self.procs: dict[str, subprocess.Popen] = {}
        self.runs: dict[str, int] = {}
        self.extra: list[str] = []
        self.env: dict[str, str] = {}  # added to both roles' environment

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def write(self, brokers: list[dict[str, Any]], triggers: list[dict[str, Any]],
              **channels: list[dict[str, Any]]) -> None:
        """`channels=[...]`, `subscriptions=[...]`: the contract's channel sections."""
        tmp = self.contract.with_suffix(".tmp")
        tmp.write_text(json.dumps({"brokers": brokers, "triggers": triggers, **channels}))
        tmp.replace(self.contract)  # atomic, as a ConfigMap update is

    def log_path(self, role: str) -> Path:
        return self.logdir / f"{role}-{self.runs.get(role, 0)}.log"

    def start(self, role: str) -> None:
        self.runs[role] = self.runs.get(role, 0) + 1
        args = ["--role", role, "--contract", str(self.contract), "--nats", self.nats.url,
                "--reload-interval", "0.2", "--port", str(self.port), *self.extra]
        proc = spawn(python_module("knpy.broker", *args), env=self.env,
                     log_path=self.log_path(role))
        self.procs[role] = proc
        if role in ("ingress", "all"):  # "all" serves the ingress too, once its contract is applied
            wait_port(self.port, proc=proc, timeout=15)

    def kill(self, role: str, sig: int = signal.SIGKILL) -> None:
        stop(self.procs.pop(role), sig)

    def stop_all(self) -> None:
        for role in list(self.procs):
            self.kill(role, signal.SIGTERM)

    def log(self, role: str) -> str:
        p = self.log_path(role)
        return p.read_text(errors="replace") if p.exists() else ""

    async def settled(self, wait: float = 15.0) -> None:
        """Wait until every stored record is settled for every trigger: no consumer has
        records still to deliver or awaiting their ack (retries wait as nak'd records, a
        reply is stored before its cause is acked). After this nothing more can reach a
        subscriber, so a test can count what arrived ("exactly once", "never")."""
        last: list[Any] = []

        async def idle() -> bool:
            last[:] = await self.nats.consumers()
            return all(c.num_pending == 0 and c.num_ack_pending == 0 for c in last)
        await eventually(idle, wait, "every record settled", every=0.1, detail=lambda: "\n".join(
            f"{c.stream_name}/{c.name}: pending {c.num_pending}, ack pending "
            f"{c.num_ack_pending}" for c in last))

    async def wait_log(self, role: str, text: str, wait: float = 15.0) -> None:
        await eventually(lambda: text in self.log(role), wait, f"{role} logging {text!r}",
                         every=0.05, detail=lambda: self.log(role)[-3000:])


@pytest.fixture
def broker(nats: Nats, tmp_path: Path, logdir: Path) -> Iterator[Broker]:
    b = Broker(nats, tmp_path, logdir)
    yield b
    b.stop_all()


@dataclass
class Received:
    path: str
    headers: CIMultiDict[str]
    body: bytes
    at: float = field(default_factory=time.monotonic)

    @property
    def ce(self) -> dict[str, str]:
        """The ce-* headers, lower-cased names without the prefix (plus Content-Type)."""
        out = {k.lower()[3:]: v for k, v in self.headers.items() if k.lower().startswith("ce-")}
        if "Content-Type" in self.headers:
            out["datacontenttype"] = self.headers["Content-Type"]
        return out


Behaviour = Callable[[Received, int], Awaitable[web.StreamResponse]]


class Sink:
    """A real HTTP subscriber on 127.0.0.1 that records every request; `behaviour(req, n)`
    (n = 1-based count of requests to that path) decides the response (default 200)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.received: list[Received] = []
        self.behaviours: dict[str, Behaviour] = {}
        self._runner: web.AppRunner | None = None
        self._changed = asyncio.Event()

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        rec = Received(request.path, CIMultiDict(request.headers), await request.read())
        self.received.append(rec)
        self._changed.set()
        behaviour = self.behaviours.get(request.path)
        if behaviour is None:
            return web.Response(status=200)
        return await behaviour(rec, len(self.at(request.path)))

    async def start(self) -> None:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def wait_for(self, path: str, n: int, wait: float = 15.0) -> list[Received]:
        deadline = time.monotonic() + wait
        while len(self.at(path)) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{path}: got {len(self.at(path))} of {n} requests")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass
        return self.at(path)


@pytest.fixture
async def sink() -> AsyncIterator[Sink]:
    s = Sink()
    await s.start()
    yield s
    await s.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def binary_headers(id_: str = "1", type_: str = "com.example.FullEvent",
                   source: str = "/test", **extra: str) -> dict[str, str]:
    h = {"ce-specversion": "1.0", "ce-id": id_, "ce-source": source, "ce-type": type_,
         "Content-Type": "application/json"}
    h.update({k.replace("_", "-"): v for k, v in extra.items()})
    return h


async def post(http: aiohttp.ClientSession, url: str, headers: dict[str, str],
               body: bytes = b'{"hello":"world"}') -> tuple[int, str]:
    async with http.post(url, headers=headers, data=body) as r:
        return r.status, await r.text()
