"""`python -m knpy.sources ping|apiserver`: the source adapters.

ping (multi-tenant):
  --file FILE        standalone: PingSources from a YAML file (re-read when it changes);
                     sinks are spec.sink.uri (absolute) or status.sinkUri
  (no --file)        cluster mode: every PingSource from the API (--kubeconfig /
                     $KUBECONFIG / in-cluster), sending to its status.sinkUri; replicas
                     elect a leader on Lease --lease-name in --namespace ($SYSTEM_NAMESPACE)
                     and only it sends (--no-leader-elect: every replica sends)
apiserver (one per ApiServerSource, configured by env as the controller writes it):
  --sink ($K_SINK), --config ($K_SOURCE_CONFIG, JSON), --kubeconfig
Both: --probe-port ($KNPY_PROBE_PORT; 0 = off) serves /healthz, /readyz, /metrics,
--log-level ($KNPY_LOG_LEVEL).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

from knpy.runtime.k8s import Informer, LeaderElector, connect
from knpy.runtime.k8s.resources import Resource
from knpy.runtime.observability.logs import setup_logging
from knpy.runtime.observability.metrics import Registry
from knpy.runtime.process import cancel_and_wait, run_until_stopped
from knpy.runtime.proxy.app import AppServer
from knpy.runtime.proxy.health import Check, serve_probes
from knpy.sources.apiserver import ApiServerAdapter, SourceConfig
from knpy.sources.ping import PingScheduler
from knpy.sources.pingfile import watch_file
from knpy.sources.sender import Sender

log = logging.getLogger("knpy.sources")

PINGSOURCES = Resource("sources.knative.dev", "v1", "pingsources", "PingSource")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m knpy.sources")
    p.add_argument("--log-level", default=os.environ.get("KNPY_LOG_LEVEL", "INFO"))
    p.add_argument("--probe-port", type=int,
                   default=int(os.environ.get("KNPY_PROBE_PORT", 0)))
    p.add_argument("--probe-host", default="0.0.0.0")
    p.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG"))
    p.add_argument("--send-timeout", type=float, default=10.0)
    p.add_argument("--send-retries", type=int, default=2)
    sub = p.add_subparsers(dest="adapter", required=True)
    ping = sub.add_parser("ping", help="send every PingSource's events on schedule")
    ping.add_argument("--file", type=Path, default=None)
    ping.add_argument("--watch-timeout", type=int, default=300)
    ping.add_argument("--namespace", default=os.environ.get("SYSTEM_NAMESPACE", "knpy-system"))
    ping.add_argument("--no-leader-elect", action="store_true")
    ping.add_argument("--lease-name", default="knpy-pingsource-adapter")
    ping.add_argument("--identity", default=os.environ.get("POD_NAME"))
    ping.add_argument("--lease-duration", type=float, default=15.0)
    ping.add_argument("--renew-deadline", type=float, default=10.0)
    ping.add_argument("--retry-period", type=float, default=2.0)
    api = sub.add_parser("apiserver", help="emit events for Kubernetes resource changes")
    api.add_argument("--sink", default=os.environ.get("K_SINK"))
    api.add_argument("--config", default=os.environ.get("K_SOURCE_CONFIG"))
    api.add_argument("--source", default=None, help="the source attribute (default: the "
                     "API server URL)")
    api.add_argument("--watch-timeout", type=int, default=300)
    return p.parse_args(argv)


def _metrics(sender: Sender) -> Callable[[], bytes]:
    """The adapter's Prometheus text: what its sender delivered and gave up on."""
    reg = Registry()
    reg.collected("source_events_sent_total", "counter", "Events the sink accepted (2xx)",
                  (), lambda: [((), sender.stats.sent)])
    reg.collected("source_events_failed_total", "counter",
                  "Events given up on (refused, or retries exhausted)", (),
                  lambda: [((), sender.stats.failed)])
    return reg.render


async def _probes(a: argparse.Namespace, ready: Check, sender: Sender) -> AppServer | None:
    if not a.probe_port:
        return None
    return await serve_probes(a.probe_host, a.probe_port, healthy=lambda: None, ready=ready,
                              metrics=_metrics(sender))


async def run_ping(a: argparse.Namespace, sender: Sender) -> None:
    sched = PingScheduler(sender)
    client = None
    tasks = [asyncio.create_task(sched.run(), name="scheduler")]
    ready: Check = lambda: None  # noqa: E731
    if a.file is not None:
        if not a.file.exists():
            raise SystemExit(f"--file {a.file}: no such file")
        tasks.append(asyncio.create_task(watch_file(a.file, sched), name="file"))
    else:
        client = await connect(a.kubeconfig, user_agent="knpy-sources-ping/0.1")
        inf = Informer(client, PINGSOURCES, watch_timeout=a.watch_timeout)
        inf.add_handler(sched.upsert, lambda _o, n: sched.upsert(n),
                        lambda o: sched.remove(f"{o['metadata']['namespace']}/"
                                               f"{o['metadata']['name']}"))
        tasks.append(asyncio.create_task(inf.run(), name="pingsources"))
        if not a.no_leader_elect:
            sched.active = False
            elector = LeaderElector(
                client, a.namespace, a.lease_name, identity=a.identity,
                lease_duration=a.lease_duration, renew_deadline=a.renew_deadline,
                retry_period=a.retry_period,
                on_started_leading=lambda: sched.set_active(True),
                on_stopped_leading=lambda: sched.set_active(False))
            tasks.append(asyncio.create_task(elector.run(), name="leader-election"))
        ready = lambda: None if inf.synced.is_set() else "PingSources not synced"  # noqa: E731
    probes = await _probes(a, ready, sender)
    try:
        await asyncio.gather(*tasks)
    finally:
        await cancel_and_wait(tasks)
        await sched.drain()
        if probes is not None:
            await probes.close()
        if client is not None:
            await client.close()


async def run_apiserver(a: argparse.Namespace, sender: Sender) -> None:
    if not a.sink:
        raise SystemExit("K_SINK / --sink: missing")
    try:
        cfg = SourceConfig.from_dict(json.loads(a.config or ""))
    except ValueError as exc:
        raise SystemExit(f"K_SOURCE_CONFIG / --config: {exc}") from None
    client = await connect(a.kubeconfig, user_agent="knpy-sources-apiserver/0.1")
    adapter = ApiServerAdapter(client, cfg, a.sink, sender, source=a.source,
                               watch_timeout=a.watch_timeout)
    try:
        await adapter.setup()
        probes = await _probes(a, lambda: None if all(
            i.synced.is_set() for i in adapter.informers) else "informers not synced", sender)
        try:
            await adapter.run()
        finally:
            if probes is not None:
                await probes.close()
    finally:
        await client.close()


async def amain(argv: list[str], stop: asyncio.Event) -> None:
    """The source adapters' process (knpy.runtime.process.run)."""
    a = parse_args(argv)
    setup_logging(a.log_level)
    sender = Sender(timeout=a.send_timeout, retries=a.send_retries)
    try:
        adapter = run_ping(a, sender) if a.adapter == "ping" else run_apiserver(a, sender)
        await run_until_stopped(adapter, stop)
    finally:
        await sender.close()
