"""Run the broker's roles in one process: watch the contract, keep the store topology in
shape, serve the ingress and/or run the dispatcher, and report the contract generation
served (cluster mode)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from knpy.broker import topology
from knpy.broker.contract_source import ConfigMapSource, FileSource, Loaded, Source
from knpy.broker.dispatcher import Dispatcher
from knpy.broker.ingress import Ingress, server
from knpy.broker.jetstream import JetStreamStore
from knpy.broker.metrics import BrokerMetrics
from knpy.broker.report import PodReport
from knpy.broker.sender import Sender
from knpy.broker.settings import Settings
from knpy.broker.store import EventStore, StoreUnavailable
from knpy.runtime.contract import eventing
from knpy.runtime.k8s import Client, connect
from knpy.runtime.proxy import ProxyOptions, Server
from knpy.runtime.proxy.metrics import serve_metrics

log = logging.getLogger("knpy.broker")

ROLES = ("ingress", "dispatcher")


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


def open_source(settings: Settings, client: Client | None) -> Source:
    if client is not None:
        ns, _, name = settings.contract_configmap.rpartition("/")
        return ConfigMapSource(client, ns or settings.pod_namespace, name,
                               watch_timeout=settings.watch_timeout)
    assert settings.contract is not None
    return FileSource(settings.contract)


async def run(settings: Settings, roles: tuple[str, ...], stop: asyncio.Event,
              store: EventStore | None = None, tracer: Any | None = None) -> None:
    """Serve until `stop` is set (the process runner sets it on SIGTERM/SIGINT), then drain.
    `tracer`: a broker.oteltracer.BrokerTracer (runtime.observability.tracing.load), or
    None for tracing off."""
    store = store or JetStreamStore(settings.nats, publish_timeout=settings.publish_timeout,
                                    max_age=settings.stream_max_age, keep=settings.stream_keep,
                                    dedup_window=settings.dedup_window)
    client = await connect(settings.kubeconfig, user_agent="knpy-broker") \
        if settings.contract_configmap else None
    report = PodReport(client, settings.pod_namespace, settings.pod_name) \
        if client is not None and settings.pod_name else None
    source = open_source(settings, client)
    await store.start()
    await source.start()
    ingress = dispatcher = sender = http = None
    metrics = BrokerMetrics()
    if "ingress" in roles:
        ingress = Ingress(store, settings.max_event_bytes, metrics, tracer)
    if "dispatcher" in roles:
        sender = Sender(settings.max_event_bytes)
        await sender.start()
        dispatcher = Dispatcher(store, sender, settings, metrics, tracer)
    metrics_http = (await serve_metrics(settings.host, settings.metrics_port, metrics.render)
                    if settings.metrics_port else None)

    loop = asyncio.get_running_loop()
    applied: eventing.EventingContract | None = None
    loaded = None
    dirty = False
    unreported: Loaded | None = None  # applied, not yet reported
    await store.ready()
    resync_at = loop.time() + settings.resync_interval
    while not stop.is_set():
        source.wake.clear()
        new = source.changed()
        if new is not None:
            loaded, dirty = new, True
        if loop.time() >= resync_at:
            # Level-triggered: re-assert streams and consumers now and then, in case the
            # store lost them (a wiped store directory, an operator's delete).
            dirty, resync_at = True, loop.time() + settings.resync_interval
        if dirty and loaded is not None:
            contract = loaded.contract
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
            if not dirty and applied is not contract:
                applied, unreported = contract, loaded
                log.info("contract applied (generation %d): %d broker(s), %d trigger(s)",
                         loaded.generation, len(contract.brokers), len(contract.triggers))
        if http is None and ingress is not None and loaded is not None:
            # listen once the first contract is in: a ready ingress knows its brokers
            http = server(ingress, ProxyOptions(header_timeout=settings.header_timeout,
                                                keepalive_timeout=settings.idle_timeout),
                          body_timeout=settings.body_timeout)
            await http.listen(settings.host, settings.port)
            log.info("ingress listening on %s:%d", settings.host, settings.port)
        if report is not None and unreported is not None and \
                await report.serving(unreported.generation, unreported.uid):
            unreported = None
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(settings.reload_interval):
                await _either(stop, source.wake)

    log.info("shutting down")
    if http is not None:
        await drain(http, settings)
    if metrics_http is not None:
        await metrics_http.close()
    if dispatcher is not None:
        await dispatcher.close(settings.drain_timeout)
    if sender is not None:
        await sender.close()
    await source.close()
    if client is not None:
        await client.close()
    await store.close()


async def _either(a: asyncio.Event, b: asyncio.Event) -> None:
    waits = [asyncio.ensure_future(a.wait()), asyncio.ensure_future(b.wait())]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()
