"""`python -m knpy.autoscaler`: the KPA autoscaler as a process (`amain`).

Standalone use needs no Kubernetes: `--config FILE` gives config-autoscaler data and the
revisions to scale (see registration.py); revisions can also be registered over the HTTP
API. Bad configuration fails at start with a message naming the field, exit status 2.
SIGHUP re-reads the file and applies it live (a bad file is logged and ignored).

Cluster mode (`--cluster`, or `--kubeconfig FILE`; in-cluster config when no kubeconfig):
PodAutoscalers are the revisions, Deployments the scale targets, config-autoscaler in
--system-namespace the config (see cluster.py); one replica leads by a Lease.

Tracing (off by default) is configured like every component's (OBSERVABILITY_CONFIG,
OTEL_*): a span per activator poke and per scale change written (spans.py), and in
cluster mode one per reconcile.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from knpy.apis.autoscaling.config import AutoscalerConfig, parse_autoscaler_config
from knpy.autoscaler.cluster import ClusterScaler
from knpy.autoscaler.multiscaler import Multiscaler
from knpy.autoscaler.registration import Registration, parse_registration
from knpy.autoscaler.server import EndpointsPublisher, make_server
from knpy.runtime.config import FieldError, parse_unique_list
from knpy.runtime.k8s import EventRecorder, LeaderElector, connect
from knpy.runtime.k8s import tracing as k8s_tracing
from knpy.runtime.observability import tracing
from knpy.runtime.observability.logs import setup_logging
from knpy.runtime.process import cancel_and_wait, run_until_stopped

log = logging.getLogger("knpy.autoscaler")

# Seconds requests in flight get at shutdown; websockets are closed with 1001 at once.
SHUTDOWN_GRACE = 5.0


def _as_configmap_data(raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise FieldError.invalid(raw, "config", details="want a mapping (config-autoscaler data)")
    return {str(k): (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in raw.items()}


def load_file(path: Path) -> tuple[AutoscalerConfig, list[Registration]]:
    """Parse a standalone file; raises FieldError (paths from the file's root) or OSError."""
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise FieldError(f"not valid YAML: {exc}", str(path)) from None
    if not isinstance(doc, Mapping):
        raise FieldError.invalid(type(doc).__name__, "", details="want a mapping at the top")
    unknown = set(doc) - {"config", "revisions"}
    if unknown:
        raise FieldError(f"unknown field(s) {sorted(unknown)}", "", details="want config, "
                         "revisions")
    try:
        config = parse_autoscaler_config(_as_configmap_data(doc.get("config")))
    except FieldError as e:
        raise e.via_field("config") from None
    regs = parse_unique_list(doc.get("revisions") or None, "revisions", parse_registration,
                             lambda r: r.spec.key, "revision")
    return config, regs


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ
    p = argparse.ArgumentParser(prog="python -m knpy.autoscaler", description=__doc__)
    p.add_argument("--host", default=env.get("AUTOSCALER_HOST", "0.0.0.0"))
    p.add_argument("--port", type=int, default=int(env.get("AUTOSCALER_PORT", "8080")),
                   help="websocket stats, HTTP API and /metrics (default 8080)")
    p.add_argument("--config", type=Path, default=env.get("AUTOSCALER_CONFIG_FILE"),
                   help="standalone YAML: {config: <config-autoscaler data>, revisions: [...]}")
    p.add_argument("--endpoints-file", default=env.get("AUTOSCALER_ENDPOINTS_FILE"),
                   help="write each revision's mode and ready pod addresses here (JSON)")
    p.add_argument("--allow-api-process-targets", action="store_true",
                   help="accept `process` scale targets (command lines) over the HTTP API; "
                        "only for standalone use on a trusted host")
    p.add_argument("--header-timeout", type=float, default=60.0,
                   help="seconds a request head may take to arrive before 408 (default 60)")
    p.add_argument("--tick-interval", type=float, default=2.0, help="seconds between decisions")
    p.add_argument("--scrape-interval", type=float, default=1.0, help="seconds between scrapes")
    p.add_argument("--log-level", default=env.get("LOG_LEVEL", "info"))
    cl = p.add_argument_group("cluster mode")
    cl.add_argument("--cluster", action="store_true",
                    default=env.get("AUTOSCALER_CLUSTER", "") in ("1", "true"),
                    help="scale PodAutoscalers' Deployments (in-cluster config unless "
                         "--kubeconfig)")
    cl.add_argument("--kubeconfig", default=None, help="implies --cluster")
    cl.add_argument("--system-namespace", default=env.get("SYSTEM_NAMESPACE", "knpy-system"),
                    help="where config-autoscaler and the Lease live")
    cl.add_argument("--no-leader-elect", action="store_true")
    cl.add_argument("--lease-name", default="knpy-autoscaler")
    cl.add_argument("--lease-duration", type=float, default=15.0)
    cl.add_argument("--renew-deadline", type=float, default=10.0)
    cl.add_argument("--retry-period", type=float, default=2.0)
    cl.add_argument("--identity", default=None, help="Lease holder name (default $POD_NAME)")
    cl.add_argument("--metrics-host", default=None,
                    help="scrape pods at this host instead of their IPs (tests only)")
    args = p.parse_args(argv)
    args.cluster = args.cluster or args.kubeconfig is not None
    if args.cluster and args.config is not None:
        p.error("--config is for standalone use; cluster mode reads config-autoscaler")
    if not 1 <= args.port <= 65535:
        p.error(f"--port: {args.port} is not a TCP port")
    if args.header_timeout <= 0:
        p.error("--header-timeout must be > 0")
    if args.tick_interval <= 0 or args.scrape_interval <= 0:
        p.error("--tick-interval and --scrape-interval must be > 0")
    return args


async def apply_file(ms: Multiscaler, publisher: EndpointsPublisher,
                     config: AutoscalerConfig, regs: list[Registration],
                     from_file: set[str]) -> None:
    """Make the running set match the file: config first, then add, update, and remove the
    revisions an earlier version of the file had (ones registered over HTTP stay).
    `from_file` is updated in place."""
    if config != ms.config:
        await ms.set_config(config)
    wanted = {r.spec.key: r for r in regs}
    for key in from_file - set(wanted):
        await ms.unregister(key)
    from_file.clear()
    from_file.update(wanted)
    for key, reg in wanted.items():
        existing = ms.revisions.get(key)
        await ms.register(reg.spec, reg.target(existing.target if existing else None,
                                               publisher.poke))
    publisher.poke()


async def reload(path: Path, ms: Multiscaler, publisher: EndpointsPublisher,
                 from_file: set[str]) -> None:
    """SIGHUP: re-read the file; a bad file is logged and changes nothing."""
    try:
        config, regs = load_file(path)
        await apply_file(ms, publisher, config, regs, from_file)
    except (FieldError, OSError) as exc:
        log.error("reload of %s rejected, keeping the running config:\n%s", path, exc)
        return
    log.info("reloaded %s: %d revision(s)", path, len(regs))


async def serve(args: argparse.Namespace, config: AutoscalerConfig,
                regs: list[Registration], stop: asyncio.Event, tracer: Any = None) -> None:
    hup = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGHUP, hup.set)
    async with aiohttp.ClientSession() as session:
        ms = Multiscaler(config, session, tick_interval=args.tick_interval,
                         scrape_interval=args.scrape_interval)
        ms.tracer = tracer
        publisher = EndpointsPublisher(ms, args.endpoints_file)
        ms.on_change = publisher.poke
        server = make_server(ms, publisher, allow_process_targets=args.allow_api_process_targets,
                             header_timeout=args.header_timeout)
        try:
            from_file: set[str] = set()
            await apply_file(ms, publisher, config, regs, from_file)
            publisher.start()
            ms.start()
            await server.listen(args.host, args.port)
            log.info("autoscaler listening on %s:%d with %d revision(s)", args.host, args.port,
                     len(regs))
            while not stop.is_set():
                waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(hup.wait())]
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
                for w in waiters:
                    w.cancel()
                if hup.is_set() and not stop.is_set():
                    hup.clear()
                    if args.config is not None:
                        await reload(args.config, ms, publisher, from_file)
            log.info("shutting down")
        finally:
            await server.close(SHUTDOWN_GRACE)
            await ms.close()
            await publisher.close()


async def _until_done(tasks: list[asyncio.Task[None]]) -> None:
    if tasks:
        await asyncio.gather(*tasks)
    else:
        await asyncio.Event().wait()


async def serve_cluster(args: argparse.Namespace, stop: asyncio.Event,
                        tracer: Any = None) -> None:
    """Cluster mode: informers at once, deciding and writing only while leading."""
    client = await connect(args.kubeconfig, user_agent="knpy-autoscaler/0.1")
    elector: LeaderElector | None = None
    try:
        async with aiohttp.ClientSession() as session:
            ms = Multiscaler(AutoscalerConfig(), session, tick_interval=args.tick_interval,
                             scrape_interval=args.scrape_interval)
            ms.tracer = tracer
            cs = ClusterScaler(client, ms, EventRecorder(client, "knpy-autoscaler"),
                               system_namespace=args.system_namespace,
                               metrics_host=args.metrics_host)
            publisher = EndpointsPublisher(ms, None)
            server = make_server(ms, publisher, writable=False,
                                 header_timeout=args.header_timeout)
            tasks: list[asyncio.Task[None]] = []
            try:
                # The activator streams stats here from the start; they are dropped until
                # the revision is registered (leading).
                await server.listen(args.host, args.port)
                log.info("autoscaler (cluster mode) listening on %s:%d", args.host, args.port)
                await cs.start_informers()
                if args.no_leader_elect:
                    cs.promote()
                else:
                    cs.reconciler.is_leader = False
                    elector = LeaderElector(
                        client, args.system_namespace, args.lease_name,
                        identity=args.identity, lease_duration=args.lease_duration,
                        renew_deadline=args.renew_deadline, retry_period=args.retry_period,
                        on_started_leading=cs.promote, on_stopped_leading=cs.demote)
                    tasks.append(asyncio.create_task(elector.run(), name="leader-election"))
                await run_until_stopped(_until_done(tasks), stop)
                log.info("shutting down")
            finally:
                await cancel_and_wait(tasks)
                await server.close(SHUTDOWN_GRACE)
                await ms.close()
                await cs.close()
    finally:
        await client.close()


async def amain(argv: list[str], stop: asyncio.Event) -> int:
    """The autoscaler process (knpy.runtime.process.run)."""
    args = parse_args(argv)
    setup_logging(args.log_level)
    config, regs = AutoscalerConfig(), list[Registration]()
    if args.config is not None:
        try:
            config, regs = load_file(args.config)
        except FieldError as exc:
            print(f"autoscaler: invalid --config {args.config}:\n{exc}", file=sys.stderr)
            return 2
        except OSError as exc:
            print(f"autoscaler: cannot read --config: {exc}", file=sys.stderr)
            return 2
    trace_settings = tracing.process_settings("autoscaler")
    if trace_settings is None:
        return 2
    tracer = tracing.operation_tracer(trace_settings, "knpy.autoscaler")
    try:
        if args.cluster:
            k8s_tracing.install(tracer)  # and one span per PodAutoscaler reconcile
            await serve_cluster(args, stop, tracer)
        else:
            await serve(args, config, regs, stop, tracer)
    finally:
        tracing.shutdown(tracer)
    return 0
