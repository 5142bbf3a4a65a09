"""SIGTERM ends each broker process promptly and cleanly, with a trigger's consumer active."""

from __future__ import annotations

import asyncio
import signal
import time

import aiohttp
import pytest

from tests.integration.broker.conftest import Broker, Sink, binary_headers, post
from tests.integration.broker.test_acceptance import NS, broker_spec, trigger
from tests.support.poll import eventually
from tests.support.procs import stop


@pytest.mark.parametrize("delivered", [0, 1])
@pytest.mark.parametrize("roles", [("dispatcher", "ingress"), ("all",)])
async def test_sigterm_exits_promptly_with_an_active_trigger(
        broker: Broker, sink: Sink, http: aiohttp.ClientSession, roles: tuple[str, ...],
        delivered: int) -> None:
    broker.write([broker_spec()], [trigger("all", sink.url("/all"))])
    for role in roles:
        broker.start(role)
    await broker.wait_log(roles[0], f"trigger {NS}/all ->")
    await broker.wait_log(roles[-1], "contract applied")
    for i in range(delivered):
        status, _ = await post(http, f"{broker.url}/{NS}/default", binary_headers(f"s{i}"))
        assert status == 202
    await sink.wait_for("/all", delivered)
    async def parked() -> bool:  # the trigger's pull waits in the server (an idle consumer)
        cs = await broker.nats.consumers()
        return bool(cs) and all(c.num_waiting >= 1 and c.num_ack_pending == 0 for c in cs)
    await eventually(parked, 10, "the trigger's pull parked in the server", every=0.1)
    for role in roles:
        proc = broker.procs.pop(role)
        t0 = time.monotonic()
        # `stop` escalates to SIGKILL after its timeout: a code of -9 means SIGTERM hung.
        code = await asyncio.to_thread(stop, proc, signal.SIGTERM, 8.0)
        took = time.monotonic() - t0
        assert code == 0, f"{role} exited {code} after {took:.1f}s:\n{broker.log(role)[-2000:]}"
