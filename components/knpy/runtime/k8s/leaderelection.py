"""Leader election on a coordination.k8s.io/v1 Lease (client-go's algorithm, simplified).

Every replica runs informers; only the holder of the Lease reconciles and writes. A replica
takes the Lease when it does not exist, when it already holds it, or when the holder has not
renewed it for `lease_duration` seconds *as observed locally* (the holder's clock is not
trusted). The leader renews every `retry_period`; if it cannot renew within
`renew_deadline` it steps down. On a clean stop it releases the Lease so a standby takes
over at once instead of after lease_duration.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable

from knpy.runtime.k8s.client import Client
from knpy.runtime.k8s.errors import ApiError
from knpy.runtime.k8s.resources import LEASES, Obj

__all__ = ["LeaderElector", "default_identity"]

log = logging.getLogger("knpy.k8s.leader")

Callback = Callable[[], Awaitable[None] | None]


def default_identity() -> str:
    return f"{os.environ.get('POD_NAME') or os.uname().nodename}_{uuid.uuid4().hex[:8]}"


def _micro_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    def __init__(self, client: Client, namespace: str, name: str, *,
                 identity: str | None = None, lease_duration: float = 15.0,
                 renew_deadline: float = 10.0, retry_period: float = 2.0,
                 on_started_leading: Callback | None = None,
                 on_stopped_leading: Callback | None = None) -> None:
        if not lease_duration > renew_deadline > retry_period:
            raise ValueError("want lease_duration > renew_deadline > retry_period")
        self.client = client
        self.namespace, self.name = namespace, name
        self.identity = identity or default_identity()
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.on_started = on_started_leading
        self.on_stopped = on_stopped_leading
        self.is_leader = False
        self.transitions_seen = 0
        self._observed_spec: dict | None = None
        self._observed_at = 0.0

    async def run(self) -> None:
        """Contend forever; lead while holding the Lease. Cancel to stop (releases it)."""
        try:
            while True:
                if await self._attempt():
                    if not self.is_leader:
                        self.is_leader = True
                        log.info("%s became leader of %s/%s", self.identity, self.namespace,
                                 self.name)
                        await _call(self.on_started)
                    await self._renew_loop()
                    # lost it
                    self.is_leader = False
                    log.warning("%s lost leadership of %s/%s", self.identity, self.namespace,
                                self.name)
                    await _call(self.on_stopped)
                await asyncio.sleep(self.retry_period)
        finally:
            if self.is_leader:
                self.is_leader = False
                await asyncio.shield(self._release())

    async def _renew_loop(self) -> None:
        last_ok = time.monotonic()
        while True:
            await asyncio.sleep(self.retry_period)
            ok = await self._attempt()
            if ok:
                last_ok = time.monotonic()
            elif self._observed_spec and self._observed_spec.get("holderIdentity") not in (
                    None, "", self.identity):
                return  # someone else holds it now
            elif time.monotonic() - last_ok > self.renew_deadline:
                return

    async def _attempt(self) -> bool:
        """One acquire-or-renew; an API server that cannot be reached, errs or is slow is a
        failed attempt, never an exception: a replica that lost the Lease in an API outage
        keeps contending (and its process keeps serving) until the server is back."""
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for returns the result when a
            # cancel arrives as the call completes, swallowing the cancel, and run() then
            # contended forever (a unit test hung 300 s on `ta.cancel()` under load).
            async with asyncio.timeout(self.renew_deadline):
                return await self._try_acquire_or_renew()
        except Exception as exc:
            log.warning("lease %s failed: %s",
                        "renew" if self.is_leader else "acquire", exc)
            return False

    async def _try_acquire_or_renew(self) -> bool:
        now = _micro_now()
        try:
            lease = await self.client.get(LEASES, self.namespace, self.name)
        except ApiError as exc:
            if not exc.not_found:
                raise
            body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": self.name, "namespace": self.namespace},
                    "spec": self._spec(now, now, 0)}
            try:
                lease = await self.client.create(LEASES, body)
            except ApiError as exc2:
                if exc2.conflict:
                    return False
                raise
            self._observe(lease["spec"])
            return True
        spec = lease.get("spec") or {}
        self._observe(spec)
        holder = spec.get("holderIdentity")
        if holder and holder != self.identity:
            duration = spec.get("leaseDurationSeconds") or self.lease_duration
            if time.monotonic() - self._observed_at < duration:
                return False
        transitions = spec.get("leaseTransitions") or 0
        acquire = spec.get("acquireTime") or now
        if holder != self.identity:
            transitions += 1
            acquire = now
        lease["spec"] = self._spec(acquire, now, transitions)
        try:
            lease = await self.client.update(LEASES, lease)
        except ApiError as exc:
            if exc.conflict:
                return False
            raise
        self._observe(lease["spec"])
        return True

    def _spec(self, acquire: str, renew: str, transitions: int) -> dict:
        return {"holderIdentity": self.identity,
                "leaseDurationSeconds": round(self.lease_duration),
                "acquireTime": acquire, "renewTime": renew, "leaseTransitions": transitions}

    def _observe(self, spec: Obj) -> None:
        key = {k: spec.get(k) for k in ("holderIdentity", "renewTime", "leaseTransitions")}
        if key != self._observed_spec:
            self._observed_spec = key
            self._observed_at = time.monotonic()

    async def _release(self) -> None:
        try:
            lease = await self.client.get(LEASES, self.namespace, self.name)
            if (lease.get("spec") or {}).get("holderIdentity") != self.identity:
                return
            lease["spec"]["holderIdentity"] = None
            lease["spec"]["leaseDurationSeconds"] = 1
            lease["spec"]["renewTime"] = _micro_now()
            await self.client.update(LEASES, lease)
            log.info("%s released %s/%s", self.identity, self.namespace, self.name)
        except Exception as exc:
            log.warning("could not release lease: %s", exc)


async def _call(cb: Callback | None) -> None:
    if cb is not None:
        r = cb()
        if r is not None:
            await r
