"""The controller process: flags, config, leader election and probes around the reconcilers.

The reconcilers are wired in `eventing/wiring.py` (Broker, Trigger, the data-plane
contract, channels), `flows/wiring.py` (Sequence, Parallel), `sources/wiring.py`
(sources.knative.dev) and `serving/wiring.py` (serving.knative.dev and its internal
kinds); flows, sources and serving are on only when their CRDs are served. The eventing
and serving ConfigMaps are read through one ConfigStore whose
informer the wirings share.
Leader election (one Lease per process kind) gates every write; non-leaders keep their
caches warm for a fast takeover.

Flags (and env): --kubeconfig ($KUBECONFIG; in-cluster config when unset),
--namespace ($SYSTEM_NAMESPACE, default knpy-system), --contract-configmap,
--no-leader-elect, --lease-name, --identity ($POD_NAME), --workers,
--probe-port ($KNPY_PROBE_PORT, 8080; 0 turns the /healthz and /readyz server off).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from dataclasses import dataclass

from knpy.apis.eventing.config import EVENTING_CONFIG, EventingConfig, parse_eventing_config
from knpy.apis.serving.configmaps import SERVING_CONFIG_PARSERS
from knpy.controller.eventing.wiring import EventingControllers
from knpy.controller.flows.wiring import FlowsControllers
from knpy.controller.serving.deployment import Announce
from knpy.controller.serving.sks import ServerlessServiceControllers
from knpy.controller.serving.wiring import ServingControllers
from knpy.controller.sources.wiring import SourcesControllers
from knpy.runtime.contract import announce
from knpy.runtime.k8s import Client, ConfigStore, Discovery, EventRecorder, LeaderElector, connect
from knpy.runtime.k8s import metrics as k8s_metrics
from knpy.runtime.k8s import tracing as k8s_tracing
from knpy.runtime.observability import tracing
from knpy.runtime.observability.logs import setup_logging
from knpy.runtime.process import cancel_and_wait, run_until_stopped
from knpy.runtime.proxy.health import serve_probes

__all__ = ["ControllerApp", "Options", "amain", "parse_args"]

log = logging.getLogger("knpy.controller")


@dataclass
class Options:
    namespace: str = "knpy-system"
    contract_configmap: str = "knpy-broker-contract"
    leader_election: bool = True
    lease_name: str = "knpy-controller"
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    identity: str | None = None
    workers: int = 8
    watch_timeout: int = 300
    probe_host: str = "0.0.0.0"
    probe_port: int = 0  # 0: no probe server


class ControllerApp:
    def __init__(self, client: Client, opts: Options) -> None:
        self.client, self.opts = client, opts
        ns = opts.namespace
        self.config = ConfigStore(client, ns, {EVENTING_CONFIG: parse_eventing_config,
                                               **SERVING_CONFIG_PARSERS},
                                  on_change=self._config_changed)
        assert self.config.informer is not None
        self.config.informer.watch_timeout = opts.watch_timeout
        recorder = EventRecorder(client, "knpy-controller")
        self.discovery = Discovery(client)
        self.eventing = EventingControllers(
            client, self.discovery, recorder, self.config.informer, self.cfg,
            system_namespace=ns, contract_configmap=opts.contract_configmap,
            workers=opts.workers, watch_timeout=opts.watch_timeout)
        ev = self.eventing
        self.flows = FlowsControllers(client, self.discovery, recorder, channels=ev.imcs,
                                      subscriptions=ev.subscriptions,
                                      channels_on=lambda: ev.messaging, workers=opts.workers,
                                      watch_timeout=opts.watch_timeout)
        self.sources = SourcesControllers(client, self.discovery, recorder,
                                          system_namespace=ns,
                                          cluster_domain=self.cfg().cluster_domain,
                                          workers=opts.workers,
                                          watch_timeout=opts.watch_timeout)
        key = announce.key_from_env(os.environ)
        self.serving = ServingControllers(
            client, self.discovery, recorder, self.config.get, workers=opts.workers,
            watch_timeout=opts.watch_timeout, cluster_domain=lambda: self.cfg().cluster_domain,
            announce=lambda: None if key is None else Announce(
                f"{announce.SERVICE}.{ns}.svc.{self.cfg().cluster_domain}:"
                f"{announce.DEFAULT_PORT}", key))
        # SKS: the Revision's private/public Services and the public Endpoints (pods or
        # activator); on once its CRD is served
        self.sks = ServerlessServiceControllers(client, self.discovery, recorder,
                                                system_namespace=ns, workers=opts.workers,
                                                watch_timeout=opts.watch_timeout)
        self.elector: LeaderElector | None = None
        if opts.leader_election:
            self._demote()
            self.elector = LeaderElector(
                client, ns, opts.lease_name, identity=opts.identity,
                lease_duration=opts.lease_duration, renew_deadline=opts.renew_deadline,
                retry_period=opts.retry_period, on_started_leading=self._promote,
                on_stopped_leading=self._demote)

    def cfg(self) -> EventingConfig:
        return self.config.get(EVENTING_CONFIG)

    def _config_changed(self, name: str, cfg: object) -> None:
        log.info("%s changed: %s", name, cfg)
        if name in SERVING_CONFIG_PARSERS:
            self.serving.config_changed(name)
            return
        assert isinstance(cfg, EventingConfig)
        self.sources.set_cluster_domain(cfg.cluster_domain)
        self.eventing.set_cluster_domain(cfg.cluster_domain)

    def _promote(self) -> None:
        log.info("leading: reconciling everything")
        self.eventing.promote()
        self.flows.promote()
        self.sources.promote()
        self.serving.promote()
        self.sks.promote()

    def _demote(self) -> None:
        self.eventing.demote()
        self.flows.demote()
        self.sources.demote()
        self.serving.demote()
        self.sks.demote()

    @property
    def is_leader(self) -> bool:
        return self.elector.is_leader if self.elector else True

    def _healthy(self, tasks: list[asyncio.Task]) -> str | None:
        dead = [t.get_name() for t in tasks if t.done()]
        return f"stopped: {', '.join(dead)}" if dead else None

    async def run(self) -> None:
        tasks: list[asyncio.Task] = []
        probes = None
        if self.opts.probe_port:
            probes = await serve_probes(self.opts.probe_host, self.opts.probe_port,
                                        healthy=lambda: self._healthy(tasks),
                                        ready=self.eventing.not_synced,
                                        metrics=k8s_metrics.render)
        try:
            major, minor = await self.discovery.server_version()
            log.info("API server %d.%d", major, minor)
            await self.eventing.wait_served()
            await self.eventing.start(tasks)
            tasks.append(asyncio.create_task(self.flows.run(), name="flows"))
            tasks.append(asyncio.create_task(self.sources.run(), name="sources"))
            tasks.append(asyncio.create_task(self.serving.run(), name="serving"))
            tasks.append(asyncio.create_task(self.sks.run(), name="sks"))
            tasks.append(asyncio.create_task(self._resync(), name="resync"))
            if self.elector is not None:
                tasks.append(asyncio.create_task(self.elector.run(), name="leader-election"))
            else:
                self._promote()
            await asyncio.gather(*tasks)
        finally:
            await cancel_and_wait(reversed(tasks))
            await self.eventing.close()
            await self.sources.close()
            if probes is not None:
                await probes.close()

    async def _resync(self) -> None:
        while True:
            await asyncio.sleep(self.cfg().resync_period)
            self.eventing.resync()
            self.flows.resync()
            self.sources.resync()
            self.serving.resync()
            self.sks.resync()


def parse_args(argv: list[str] | None = None) -> tuple[argparse.Namespace, Options]:
    p = argparse.ArgumentParser(prog="python -m knpy.controller")
    p.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG"))
    p.add_argument("--namespace", default=os.environ.get("SYSTEM_NAMESPACE", "knpy-system"))
    p.add_argument("--contract-configmap", default=os.environ.get(
        "KNPY_CONTRACT_CONFIGMAP", "knpy-broker-contract"))
    p.add_argument("--no-leader-elect", action="store_true")
    p.add_argument("--lease-name", default="knpy-controller")
    p.add_argument("--lease-duration", type=float, default=15.0)
    p.add_argument("--renew-deadline", type=float, default=10.0)
    p.add_argument("--retry-period", type=float, default=2.0)
    p.add_argument("--identity", default=None)
    p.add_argument("--workers", type=int, default=8)
    p.add_argument("--probe-port", type=int, default=int(os.environ.get("KNPY_PROBE_PORT", 8080)),
                   help="GET /healthz, /readyz and /metrics (0: off)")
    p.add_argument("--log-level", default=os.environ.get("KNPY_LOG_LEVEL", "INFO"))
    a = p.parse_args(argv)
    opts = Options(namespace=a.namespace, contract_configmap=a.contract_configmap,
                   leader_election=not a.no_leader_elect, lease_name=a.lease_name,
                   lease_duration=a.lease_duration, renew_deadline=a.renew_deadline,
                   retry_period=a.retry_period, identity=a.identity, workers=a.workers,
                   probe_port=a.probe_port)
    return a, opts


async def amain(argv: list[str], stop: asyncio.Event) -> int:
    """The controller process (knpy.runtime.process.run)."""
    a, opts = parse_args(argv)
    setup_logging(a.log_level)
    trace_settings = tracing.process_settings("controller")
    if trace_settings is None:
        return 2
    # one span per reconcile, in every controller of the process
    k8s_tracing.install(tracing.operation_tracer(trace_settings, "knpy.runtime.k8s"))
    # the field manager in managedFields names the replica that wrote (leader checks)
    agent = f"knpy-controller-{opts.identity}/0.1" if opts.identity else "knpy-controller/0.1"
    client = await connect(a.kubeconfig, user_agent=agent)
    try:
        await run_until_stopped(ControllerApp(client, opts).run(), stop)
    finally:
        await client.close()
        tracing.shutdown(k8s_tracing.tracer)
    return 0
