"""Process wiring: the routing table from the API (informers on KIngresses and Services,
the programmer writing status) or from `--config FILE`; two listeners on the proxy core
(public: ExternalIP rules; internal: every rule), probes, drain on stop."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from knpy.ingress.backends import Backends
from knpy.ingress.config import Settings, parse_args
from knpy.ingress.filesource import load_config
from knpy.ingress.handler import IngressHandler
from knpy.ingress.metrics import GatewayMetrics
from knpy.ingress.programmer import INGRESS_RESOURCE, IngressProgrammer
from knpy.ingress.table import Router
from knpy.runtime.k8s import (
    SERVICES,
    Client,
    Controller,
    EventRecorder,
    Informer,
    Lister,
    connect,
)
from knpy.runtime.k8s import metrics as k8s_metrics
from knpy.runtime.k8s import tracing as k8s_tracing
from knpy.runtime.observability import tracing
from knpy.runtime.observability.logs import setup_logging
from knpy.runtime.process import cancel_and_wait, run_until_stopped
from knpy.runtime.proxy import ProxyOptions, Server, Tracer
from knpy.runtime.proxy.health import serve_probes

__all__ = ["amain"]

log = logging.getLogger("knpy.ingress")

# X-Forwarded-For and X-Forwarded-Proto appended or set, and a Forwarded element always
OPTIONS = ProxyOptions(forwarded="always")


class Listeners:
    """The public and internal listeners over one router and one set of backends."""

    def __init__(self, s: Settings, router: Router, services: Lister,
                 tracer: Tracer | None = None) -> None:
        self.s = s
        self.backends = Backends(services, OPTIONS)
        self.metrics = GatewayMetrics(asyncio.get_running_loop().time)
        self.handlers = [IngressHandler(router.current, self.backends, external=e,
                                        metrics=self.metrics) for e in (True, False)]
        self.servers = [Server(h, OPTIONS) for h in self.handlers]
        self.draining = False
        self.tracer = tracer
        for srv in self.servers:
            srv.tracer = tracer
        self.ports: list[int] = []

    async def start(self) -> None:
        for srv, port in zip(self.servers, (self.s.port, self.s.internal_port), strict=True):
            self.ports.append(await srv.listen(self.s.host, port))
        log.info("ingress gateway on :%d (public) and :%d (internal), class %s",
                 *self.ports, self.s.ingress_class)

    async def close(self) -> None:
        """Drain, as the activator does: readiness fails at once and the listeners keep
        accepting until no request came for the quiet period (a terminating pod leaves the
        endpoints, but the node's Service rules send it new connections a moment longer:
        closing the listener first refused them); meanwhile every response says
        `Connection: close`, so keep-alive clients reconnect to another pod. Then the
        listeners close and requests in flight get up to drain_timeout."""
        self.draining = True
        quiet = self.s.drain_quiet_period
        if quiet > 0 and self.ports:
            for srv in self.servers:
                srv.closing = True  # responses from now on end their connection
            loop = asyncio.get_running_loop()
            started = loop.time()
            log.info("SIGTERM: draining (quiet period %gs, then up to %gs for requests in "
                     "flight)", quiet, self.s.drain_timeout)
            while True:
                last = max(started, *(h.last_request for h in self.handlers))
                left = last + quiet - loop.time()
                if left <= 0:
                    break
                await asyncio.sleep(min(left, 0.5))  # a request meanwhile pushes the end out
        await asyncio.gather(*(srv.close(grace=self.s.drain_timeout) for srv in self.servers))
        self.backends.close()
        tracing.shutdown(self.tracer)


async def _with_probes(s: Settings, ready: Callable[[], str | None],
                       body: Callable[[], Awaitable[None]],
                       metrics: Callable[[], bytes]) -> None:
    """The probe port also serves GET /metrics."""
    probes = (await serve_probes(s.host, s.probe_port, healthy=lambda: None, ready=ready,
                                 metrics=metrics)
              if s.probe_port else None)
    try:
        await body()
    finally:
        if probes is not None:
            await probes.close()


async def run_cluster(client: Client, s: Settings, tracer: Tracer | None = None) -> None:
    ingresses = Informer(client, INGRESS_RESOURCE)
    services = Informer(client, SERVICES)
    router = Router()
    controller = Controller(IngressProgrammer(
        client, ingresses.lister, EventRecorder(client, "knpy-ingress"), router=router,
        ingress_class=s.ingress_class, public=s.domain_of(s.public_service),
        private=s.domain_of(s.private_service)), workers=1)
    controller.watch(ingresses)
    listeners = Listeners(s, router, services.lister, tracer)
    services.on_change(listeners.backends.service_changed)

    def not_ready() -> str | None:
        if listeners.draining:
            return "draining"
        waiting = [str(i.resource) for i in (ingresses, services) if not i.synced.is_set()]
        return f"not synced: {', '.join(waiting)}" if waiting else None

    async def body() -> None:
        tasks = [asyncio.create_task(i.run(), name=f"informer-{i.resource.plural}")
                 for i in (services, ingresses)]
        try:
            # Services first: a programmed Ingress must find its backends at once
            await services.wait_synced()
            await ingresses.wait_synced()
            await listeners.start()
            tasks.append(asyncio.create_task(controller.run(), name="programmer"))
            await asyncio.gather(*tasks)
        finally:
            await listeners.close()
            await cancel_and_wait(tasks)
    await _with_probes(s, not_ready, body,
                       lambda: listeners.metrics.render() + k8s_metrics.render())


async def run_file(s: Settings, path: Path, tracer: Tracer | None = None) -> None:
    router, services = load_config(path, s.ingress_class)
    listeners = Listeners(s, router, services, tracer)

    async def body() -> None:
        await listeners.start()
        try:
            await asyncio.Event().wait()
        finally:
            await listeners.close()
    await _with_probes(s, lambda: "draining" if listeners.draining else None, body,
                       listeners.metrics.render)


async def amain(argv: list[str], stop: asyncio.Event) -> int | None:
    """The gateway process (knpy.runtime.process.run); flags: see config.py."""
    s = parse_args(argv)
    setup_logging(s.log_level)
    trace_settings = tracing.process_settings("ingress")
    if trace_settings is None:
        return 2
    tracer = tracing.proxy_tracer(trace_settings)
    if s.config:
        try:
            load_config(Path(s.config), s.ingress_class)  # fail fast, before listening
        except (OSError, ValueError) as exc:
            print(f"ingress: invalid --config: {exc}", file=sys.stderr)
            return 2
        await run_until_stopped(run_file(s, Path(s.config), tracer), stop)
        return 0
    # one span per KIngress reconcile, as the controller's (the runtime's reconcile tracer)
    k8s_tracing.install(tracing.operation_tracer(trace_settings, "knpy.runtime.k8s"))
    client = await connect(s.kubeconfig, user_agent="knpy-ingress/0.1")
    try:
        await run_until_stopped(run_cluster(client, s, tracer), stop)
    finally:
        await client.close()
        tracing.shutdown(k8s_tracing.tracer)
    return 0
