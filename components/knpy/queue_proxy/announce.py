"""Announce this pod to every activator as soon as the user container is ready.

The wire and why: knpy.runtime.contract.announce. The activators' address is a headless
Service name that resolves to each of them; it is resolved while the user container
starts, so only the announcements themselves are on the cold-start path. One try each:
an activator that misses it learns of the pod from the API a moment later, as without
announcements.
"""

from __future__ import annotations

import asyncio
import logging
import socket

from knpy.queue_proxy.config import Config
from knpy.queue_proxy.readiness import ReadinessProber
from knpy.runtime.contract import announce as wire
from knpy.runtime.proxy.probe import probe, request

log = logging.getLogger("knpy.queue_proxy.announce")

ATTEMPT_TIMEOUT = 1.0
WINDOW = 60.0  # by then the API lists the pod anyway
NOT_READY_PAUSE = 0.05  # between readiness checks that each make one attempt


async def resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


async def announce(cfg: Config, prober: ReadinessProber) -> int:
    """Wait until the user container is ready, then announce; how many activators took it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WINDOW
    resolving = asyncio.ensure_future(resolve(cfg.announce_host, cfg.announce_port))
    try:
        while not await prober.check():
            if loop.time() >= deadline:
                return 0
            await asyncio.sleep(NOT_READY_PAUSE)
        try:
            async with asyncio.timeout(max(0.1, deadline - loop.time())):
                ips = await resolving
        except (OSError, TimeoutError) as e:
            log.warning("announce: cannot resolve %s: %s", cfg.announce_host, e)
            return 0
    finally:
        resolving.cancel()
    req = request("POST", wire.path(cfg.namespace, cfg.revision), cfg.announce_host,
                  wire.headers(cfg.announce_token, cfg.serving_port))
    answers = await asyncio.gather(*(probe(ip, cfg.announce_port, req, ATTEMPT_TIMEOUT)
                                     for ip in ips))
    taken = sum(1 for a in answers if a is not None and a.status == 202)
    statuses = [a.status if a is not None else "no answer" for a in answers]
    log.info("announced to %d of %d activator(s) %s: %s", taken, len(ips), ips, statuses)
    return taken
