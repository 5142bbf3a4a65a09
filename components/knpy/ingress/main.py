"""Process wiring: informers (KIngresses, Services), the programmer, two listeners on the
proxy core (public: ExternalIP rules; internal: every rule), probes, drain on stop."""

from __future__ import annotations

import asyncio
import logging

from knpy.ingress.backends import Backends
from knpy.ingress.config import Settings, parse_args
from knpy.ingress.handler import IngressHandler
from knpy.ingress.programmer import INGRESS_RESOURCE, IngressProgrammer
from knpy.runtime.k8s import SERVICES, Client, Controller, EventRecorder, Informer, connect
from knpy.runtime.k8s.probes import serve_probes
from knpy.runtime.observability.logs import setup_logging
from knpy.runtime.process import cancel_and_wait, run_until_stopped
from knpy.runtime.proxy import ProxyOptions, Server

__all__ = ["Gateway", "amain"]

log = logging.getLogger("knpy.ingress")

# X-Forwarded-For and X-Forwarded-Proto appended or set, and a Forwarded element always
OPTIONS = ProxyOptions(forwarded="always")


class Gateway:
    def __init__(self, client: Client, s: Settings) -> None:
        self.s = s
        self.ingresses = Informer(client, INGRESS_RESOURCE)
        self.services = Informer(client, SERVICES)
        self.programmer = IngressProgrammer(
            client, self.ingresses.lister, EventRecorder(client, "knpy-ingress"),
            ingress_class=s.ingress_class, public=s.domain_of(s.public_service),
            private=s.domain_of(s.private_service))
        self.controller = Controller(self.programmer, workers=1)
        self.controller.watch(self.ingresses)
        self.backends = Backends(self.services.lister, OPTIONS)
        self.services.on_change(self.backends.service_changed)
        self.servers = [
            Server(IngressHandler(self.programmer.current, self.backends, external=True),
                   OPTIONS),
            Server(IngressHandler(self.programmer.current, self.backends, external=False),
                   OPTIONS)]
        self.ports: list[int] = []

    def _not_ready(self) -> str | None:
        waiting = [str(i.resource) for i in (self.ingresses, self.services)
                   if not i.synced.is_set()]
        return f"not synced: {', '.join(waiting)}" if waiting else None

    async def run(self) -> None:
        tasks = [asyncio.create_task(i.run(), name=f"informer-{i.resource.plural}")
                 for i in (self.services, self.ingresses)]
        probes = None
        try:
            if self.s.probe_port:
                probes = await serve_probes(self.s.host, self.s.probe_port,
                                            healthy=lambda: None, ready=self._not_ready)
            # Services first: a programmed Ingress must find its backends at once
            await self.services.wait_synced()
            await self.ingresses.wait_synced()
            for srv, port in zip(self.servers, (self.s.port, self.s.internal_port),
                                 strict=True):
                self.ports.append(await srv.listen(self.s.host, port))
            tasks.append(asyncio.create_task(self.controller.run(), name="programmer"))
            log.info("ingress gateway on :%d (public) and :%d (internal), class %s",
                     *self.ports, self.s.ingress_class)
            await asyncio.gather(*tasks)
        finally:
            await asyncio.gather(*(srv.close(grace=self.s.drain_timeout)
                                   for srv in self.servers))
            await cancel_and_wait(tasks)
            self.backends.close()
            if probes is not None:
                await probes.cleanup()


async def amain(argv: list[str], stop: asyncio.Event) -> None:
    """The gateway process (knpy.runtime.process.run); flags: see config.py."""
    s = parse_args(argv)
    setup_logging(s.log_level)
    client = await connect(s.kubeconfig, user_agent="knpy-ingress/0.1")
    try:
        await run_until_stopped(Gateway(client, s).run(), stop)
    finally:
        await client.close()
