"""A scale target that runs each pod as local processes on 127.0.0.1 (standalone mode).

A pod is a group of processes started from a `PodTemplate`, normally the user app and a
queue-proxy in front of it, each on its own free port. A pod is ready once its serving port
answers the queue-proxy probe (`K-Network-Probe: queue` -> 200). Scaling down stops the
newest pods first (unready ones before ready ones): SIGTERM to each process group, then
SIGKILL after `stop_timeout`. Every process runs in its own session and is tracked by PID,
so `close()` always tears everything down; and each gets SIGTERM from the kernel if the
autoscaler dies without closing (killed), so pods never outlive it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO

import aiohttp

from knpy.autoscaler.scaletarget import OnChange, Pod

__all__ = ["PodTemplate", "ProcessScaleTarget", "ProcessSpec", "queue_proxy_template"]

log = logging.getLogger("knpy.autoscaler.processtarget")

PROBE_INTERVAL = 0.05     # seconds between readiness probes of a starting pod
PROBE_TIMEOUT = 0.3


@dataclass(frozen=True, slots=True)
class ProcessSpec:
    """argv and extra env of one container; `{port-name}`, `{pod}`, `{namespace}` and
    `{revision}` placeholders are filled per pod."""

    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PodTemplate:
    processes: tuple[ProcessSpec, ...]
    ports: tuple[str, ...] = ("user", "serving")
    serving_port: str = "serving"
    metrics_port: str = "metrics"
    metrics_path: str = "/metrics"
    stop_timeout: float = 30.0
    log_dir: str | None = None


def queue_proxy_template(user_argv: Sequence[str], *, container_concurrency: int = 0,
                         env: Mapping[str, str] | None = None,
                         queue_proxy_env: Mapping[str, str] | None = None,
                         stop_timeout: float = 45.0, log_dir: str | None = None) -> PodTemplate:
    """The usual pod: the user app on `{user}`, knpy's queue-proxy in front of it.

    The queue-proxy gets Knative's env vars; its admin, metrics and user-metrics ports are
    moved off their fixed defaults so many pods fit on one host. It drains for its quiet
    period on SIGTERM (30 s unless QUEUE_DRAIN_QUIET_PERIOD_SECONDS says otherwise), so
    `stop_timeout` must be longer than that or the drain is cut short by SIGKILL.
    """
    qp_env = {
        "USER_PORT": "{user}",
        "QUEUE_SERVING_PORT": "{serving}",
        "QUEUE_ADMIN_PORT": "{admin}",
        "QUEUE_METRICS_PORT": "{metrics}",
        "QUEUE_USER_METRICS_PORT": "{usermetrics}",
        "QUEUE_LISTEN_HOST": "127.0.0.1",
        "CONTAINER_CONCURRENCY": str(container_concurrency),
        "SERVING_POD": "{pod}",
        "SERVING_POD_IP": "127.0.0.1",
        "SERVING_NAMESPACE": "{namespace}",
        "SERVING_REVISION": "{revision}",
        **(queue_proxy_env or {}),
    }
    return PodTemplate(
        processes=(
            ProcessSpec(tuple(user_argv), {"PORT": "{user}", **(env or {})}),
            ProcessSpec((sys.executable, "-m", "knpy.queue_proxy"), qp_env),
        ),
        ports=("user", "serving", "admin", "metrics", "usermetrics"),
        stop_timeout=stop_timeout,
        log_dir=log_dir,
    )


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM if the autoscaler dies, even by SIGKILL, so no
    pod outlives it (Linux prctl PR_SET_PDEATHSIG; elsewhere a no-op)."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM), 0, 0, 0)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _open_log(log_dir: str | None, name: str) -> int | IO[bytes]:
    if not log_dir:
        return asyncio.subprocess.DEVNULL
    # A missing directory would otherwise stop every pod from starting.
    os.makedirs(log_dir, exist_ok=True)
    return open(os.path.join(log_dir, name), "ab")


@dataclass(eq=False)
class _PodProcs:
    name: str
    ports: dict[str, int]
    procs: list[asyncio.subprocess.Process]
    started: float
    ready: bool = False
    stopping: bool = False


class ProcessScaleTarget:
    def __init__(self, namespace: str, revision: str, template: PodTemplate,
                 on_change: OnChange | None = None) -> None:
        self.namespace = namespace
        self.revision = revision
        self.template = template
        self._on_change = on_change
        self._desired = -1
        self._pods: list[_PodProcs] = []
        self._stopping: set[asyncio.Task[None]] = set()
        self._seq = itertools.count(1)
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    # ---------------------------------------------------------------- ScaleTarget
    @property
    def desired(self) -> int:
        return self._desired

    def ready_pods(self) -> Sequence[Pod]:
        return [self._describe(p) for p in self._pods if p.ready and not p.stopping
                and all(proc.returncode is None for proc in p.procs)]

    def not_ready_count(self) -> int:
        return sum(1 for p in self._pods if not p.stopping) - len(self.ready_pods())

    def pids(self) -> list[int]:
        """Every process this target still runs (tests check cleanup with these)."""
        return [proc.pid for p in self._pods for proc in p.procs if proc.returncode is None]

    def pod_count(self) -> int:
        return sum(1 for p in self._pods if not p.stopping)

    async def set_scale(self, replicas: int) -> None:
        if self._closed:
            raise RuntimeError(f"scale target {self.namespace}/{self.revision} is closed")
        self._desired = max(0, replicas)
        if self._loop_task is None:
            self._session = aiohttp.ClientSession()
            self._loop_task = asyncio.create_task(self._run(), name=f"pods-{self.revision}")
        await self._reconcile()
        self._wake.set()

    async def close(self) -> None:
        self._closed = True
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        pods, self._pods = self._pods, []
        await asyncio.gather(*(self._stop(p, self.template.stop_timeout) for p in pods),
                             *self._stopping, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    # ---------------------------------------------------------------- internals
    def _describe(self, p: _PodProcs) -> Pod:
        t = self.template
        metrics = p.ports.get(t.metrics_port)
        url = f"http://127.0.0.1:{metrics}{t.metrics_path}" if metrics else ""
        return Pod(p.name, f"127.0.0.1:{p.ports[t.serving_port]}", url)

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()

    async def _reconcile(self) -> None:
        live = [p for p in self._pods if not p.stopping]
        for _ in range(self._desired - len(live)):
            self._pods.append(await self._start())
        excess = len(live) - self._desired
        if excess > 0:
            # Unready pods go first, then the newest (a ReplicaSet's preference).
            victims = sorted(live, key=lambda p: (p.ready, -p.started))[:excess]
            for p in victims:
                p.stopping = True
                task = asyncio.create_task(self._retire(p))
                self._stopping.add(task)
                task.add_done_callback(self._stopping.discard)
            self._changed()

    async def _start(self) -> _PodProcs:
        t = self.template
        name = f"{self.revision}-{next(self._seq):05d}"
        ports = {n: _free_port() for n in t.ports}
        values = {**{k: str(v) for k, v in ports.items()}, "pod": name,
                  "namespace": self.namespace, "revision": self.revision}
        procs: list[asyncio.subprocess.Process] = []
        for i, spec in enumerate(t.processes):
            env = dict(os.environ)
            env.update({k: v.format_map(values) for k, v in spec.env.items()})
            argv = [a.format_map(values) for a in spec.argv]
            out = _open_log(t.log_dir, f"{name}-{i}.log")
            try:
                procs.append(await asyncio.create_subprocess_exec(
                    *argv, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=out,
                    stderr=asyncio.subprocess.STDOUT, start_new_session=True,
                    preexec_fn=_die_with_parent))
            finally:
                if not isinstance(out, int):
                    out.close()
        log.info("started pod %s ports=%s pids=%s", name, ports, [p.pid for p in procs])
        return _PodProcs(name, ports, procs, time.monotonic())

    async def _retire(self, p: _PodProcs) -> None:
        await self._stop(p, self.template.stop_timeout)
        with contextlib.suppress(ValueError):
            self._pods.remove(p)

    @staticmethod
    async def _stop(p: _PodProcs, grace: float) -> None:
        # The queue-proxy (last) drains first; the user app follows, as kubelet does it
        # in parallel but a draining proxy still needs its upstream.
        for proc in reversed(p.procs):
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in reversed(p.procs):
            try:
                async with asyncio.timeout(grace):
                    await proc.wait()
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()
        log.info("stopped pod %s", p.name)

    async def _probe(self, p: _PodProcs) -> bool:
        assert self._session is not None
        url = f"http://127.0.0.1:{p.ports[self.template.serving_port]}/"
        try:
            async with self._session.get(
                    url, headers={"K-Network-Probe": "queue"},
                    timeout=aiohttp.ClientTimeout(total=PROBE_TIMEOUT)) as resp:
                await resp.read()
                return resp.status == 200
        except (aiohttp.ClientError, TimeoutError, OSError):
            return False

    async def _run(self) -> None:
        """Probe starting pods, replace dead ones; wakes up fast while pods are starting."""
        while True:
            changed = False
            for p in list(self._pods):
                if p.stopping:
                    continue
                if any(proc.returncode is not None for proc in p.procs):
                    log.warning("pod %s exited: %s", p.name, [x.returncode for x in p.procs])
                    p.stopping = True
                    await self._stop(p, 1.0)
                    with contextlib.suppress(ValueError):
                        self._pods.remove(p)
                    changed = True
                    continue
                if not p.ready and await self._probe(p):
                    p.ready = True
                    changed = True
                    log.info("pod %s ready after %.0f ms", p.name,
                             (time.monotonic() - p.started) * 1000)
            if changed:
                await self._reconcile()
                self._changed()
            starting = any(not p.ready and not p.stopping for p in self._pods)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(PROBE_INTERVAL if starting else 1.0):
                    await self._wake.wait()
