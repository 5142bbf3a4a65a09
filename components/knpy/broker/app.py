"""Run the broker's roles in one process: watch the contract, keep the store topology in
shape, serve the ingress and/or run the dispatcher."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from pathlib import Path

from knpy.broker import topology
from knpy.broker.dispatcher import Dispatcher
from knpy.broker.ingress import Ingress, server
from knpy.broker.jetstream import JetStreamStore
from knpy.broker.sender import Sender
from knpy.broker.settings import Settings
from knpy.broker.store import EventStore, StoreUnavailable
from knpy.runtime.config import FieldError
from knpy.runtime.contract import eventing
from knpy.runtime.proxy import ProxyOptions, Server

log = logging.getLogger("knpy.broker")

ROLES = ("ingress", "dispatcher")


class ContractFile:
    """Polls a file (a ConfigMap mount replaces it via a symlink swap) for changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int, int] | None = None

    def changed(self) -> eventing.EventingContract | None:
        """The new contract if the file changed and parses; None otherwise."""
        try:
            st = os.stat(self.path)
        except OSError as e:
            if self._stamp is not None:
                log.error("contract %s unreadable: %s; keeping the last one", self.path, e)
            return None
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        if stamp == self._stamp:
            return None
        self._stamp = stamp
        try:
            return eventing.loads(self.path.read_text())
        except (FieldError, OSError) as e:
            log.error("contract %s rejected, keeping the last good one:\n%s", self.path, e)
            return None


async def drain(http: Server, settings: Settings) -> None:
    """Like the queue-proxy: keep serving until no request has come for the quiet period
    (time for the endpoint to leave the load balancers), then stop accepting, close idle
    connections and answer the requests in flight (up to the publish timeout)."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    while True:
        left = max(began, http.last_request) + settings.drain_quiet_period - loop.time()
        if left <= 0:
            break
        await asyncio.sleep(left)
    await http.close(grace=settings.publish_timeout + 1.0)


async def run(settings: Settings, roles: tuple[str, ...], stop: asyncio.Event,
              store: EventStore | None = None) -> None:
    """Serve until `stop` is set (the process runner sets it on SIGTERM/SIGINT), then drain."""
    store = store or JetStreamStore(settings.nats, publish_timeout=settings.publish_timeout,
                                    max_age=settings.stream_max_age, keep=settings.stream_keep,
                                    dedup_window=settings.dedup_window)
    await store.start()
    ingress = dispatcher = sender = http = None
    if "ingress" in roles:
        ingress = Ingress(store, settings.max_event_bytes)
        http = server(ingress, ProxyOptions(header_timeout=settings.header_timeout,
                                            keepalive_timeout=settings.idle_timeout),
                      body_timeout=settings.body_timeout)
        await http.listen(settings.host, settings.port)
        log.info("ingress listening on %s:%d", settings.host, settings.port)
    if "dispatcher" in roles:
        sender = Sender(settings.max_event_bytes)
        await sender.start()
        dispatcher = Dispatcher(store, sender, settings)

    loop = asyncio.get_running_loop()
    source = ContractFile(settings.contract)
    contract: eventing.EventingContract | None = None
    dirty = announce = False
    await store.ready()
    resync_at = loop.time() + settings.resync_interval
    while not stop.is_set():
        new = source.changed()
        if new is not None:
            contract, dirty, announce = new, True, True
        if loop.time() >= resync_at:
            # Level-triggered: re-assert streams and consumers now and then, in case the
            # store lost them (a wiped store directory, an operator's delete).
            dirty, resync_at = True, loop.time() + settings.resync_interval
        if dirty and contract is not None:
            active = topology.active_triggers(contract, settings)
            try:
                await topology.ensure(store, contract, active)
                dirty = False
            except StoreUnavailable as e:
                log.warning("store not ready for the contract yet: %s", e)
            if ingress is not None:
                ingress.set_contract(contract)  # unknown brokers 404; unstored ones 503
            if dispatcher is not None and not dirty:
                await dispatcher.apply(active)
            if not dirty and announce:
                announce = False
                log.info("contract applied: %d broker(s), %d trigger(s)",
                         len(contract.brokers), len(contract.triggers))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.reload_interval)

    log.info("shutting down")
    if http is not None:
        await drain(http, settings)
    if dispatcher is not None:
        await dispatcher.close(settings.drain_timeout)
    if sender is not None:
        await sender.close()
    await store.close()
