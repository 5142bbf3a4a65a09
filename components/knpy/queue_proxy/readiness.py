"""The user container's readiness probe, run by the queue-proxy (Knative's readiness.Probe).

With periodSeconds 0 ("aggressive", Knative's default) one check retries every 50 ms, each
attempt limited to 100 ms, for up to 10 s, until successThreshold attempts in a row pass.
Otherwise one attempt is made per check (the kubelet supplies the period). Concurrent
checks share the attempt in flight, so a burst of probes costs one probe of the user app.

`lost` says the user container was ready once and its latest attempt failed: the handler
then ends each connection after its response (see handler.py).
"""

from __future__ import annotations

import asyncio
import ssl  # already loaded by asyncio

from knpy.queue_proxy.config import ProbeSpec
from knpy.runtime.proxy.probe import get_request, insecure_tls, probe

RETRY_INTERVAL = 0.05
AGGRESSIVE_ATTEMPT_TIMEOUT = 0.1
AGGRESSIVE_POLL_TIMEOUT = 10.0
DEFAULT_ATTEMPT_TIMEOUT = 1.0
USER_AGENT = "Knative-Queue-Proxy-Probe"


class ReadinessProber:
    def __init__(self, spec: ProbeSpec) -> None:
        self.spec = spec
        self.ready = False  # result of the last completed check
        self.lost = False  # was ready once; the latest attempt failed
        self._was_ready = False
        self._inflight: asyncio.Future[bool] | None = None
        self._ssl: ssl.SSLContext | None = None
        self._request = None if spec.kind == "tcp" else get_request(
            spec.path, f"{spec.host}:{spec.port}",
            (("User-Agent", USER_AGENT), ("K-Network-Probe", "queue"), *spec.headers))

    async def check(self) -> bool:
        """Probe the user container now (joining a probe already in flight)."""
        fut = self._inflight
        if fut is None:
            fut = asyncio.ensure_future(self._run())
            self._inflight = fut
            fut.add_done_callback(self._clear)
        return await asyncio.shield(fut)

    def _set(self, ok: bool) -> None:
        self.ready = ok
        self._was_ready = self._was_ready or ok
        self.lost = self._was_ready and not ok

    def _clear(self, fut: asyncio.Future[bool]) -> None:
        if self._inflight is fut:
            self._inflight = None

    async def _run(self) -> bool:
        spec = self.spec
        if not spec.aggressive:
            ok = await self.attempt(spec.timeout or DEFAULT_ATTEMPT_TIMEOUT)
            self._set(ok)
            return ok
        timeout = spec.timeout or AGGRESSIVE_ATTEMPT_TIMEOUT
        loop = asyncio.get_running_loop()
        deadline = loop.time() + AGGRESSIVE_POLL_TIMEOUT
        streak = 0
        while True:
            if await self.attempt(timeout):
                streak += 1
                if streak >= spec.success_threshold:
                    self._set(True)
                    return True
            else:
                streak = 0
                # failing now, although this check polls on for up to 10 s
                self._set(False)
            if loop.time() + RETRY_INTERVAL > deadline:
                self._set(False)
                return False
            await asyncio.sleep(RETRY_INTERVAL)

    def _tls(self) -> ssl.SSLContext | None:
        if self.spec.kind != "http" or self.spec.scheme != "https":
            return None
        if self._ssl is None:
            self._ssl = insecure_tls()
        return self._ssl

    async def attempt(self, limit: float) -> bool:
        """One probe attempt: TCP connect, or an HTTP GET answered with 200..399."""
        answer = await probe(self.spec.host, self.spec.port, self._request, limit,
                             tls=self._tls())
        return answer is not None and (self._request is None or 200 <= answer.status < 400)
