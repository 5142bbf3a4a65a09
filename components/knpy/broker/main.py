"""`python -m knpy.broker --contract brokers.yaml | --contract-configmap ns/name
--role ingress|dispatcher|all ...`: flags."""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path

from knpy.broker.app import ROLES, run
from knpy.broker.settings import Settings
from knpy.runtime.observability import tracing
from knpy.runtime.observability.logs import setup_logging


def parse_args(argv: list[str]) -> tuple[Settings, tuple[str, ...]]:
    d = Settings()
    env = os.environ.get
    p = argparse.ArgumentParser(prog="python -m knpy.broker",
                                description="knpy broker: ingress and filter/dispatcher")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--contract", default=env("KNPY_BROKER_CONTRACT"),
                     help="brokers+triggers YAML file (standalone mode)")
    src.add_argument("--contract-configmap", default=env("KNPY_BROKER_CONTRACT_CONFIGMAP"),
                     help="namespace/name of the controller's contract ConfigMap, watched "
                          "through the API (cluster mode; the generation served is written "
                          "onto this pod, $POD_NAME in $POD_NAMESPACE)")
    p.add_argument("--kubeconfig", default=None, help="default $KUBECONFIG, else in-cluster")
    p.add_argument("--watch-timeout", type=int, default=d.watch_timeout,
                   help="seconds before the contract ConfigMap watch is renewed")
    p.add_argument("--role", choices=(*ROLES, "all"), default=env("KNPY_BROKER_ROLE", "all"))
    p.add_argument("--nats", default=env("NATS_URL", d.nats), help="comma-separated URLs")
    p.add_argument("--host", default=d.host)
    p.add_argument("--port", type=int, default=int(env("PORT", d.port)))
    p.add_argument("--metrics-port", type=int,
                   default=int(env("KNPY_BROKER_METRICS_PORT", d.metrics_port)),
                   help="GET /metrics, Prometheus text, on --host (0: off)")
    p.add_argument("--max-event-bytes", type=int, default=d.max_event_bytes)
    p.add_argument("--publish-timeout", type=float, default=d.publish_timeout)
    p.add_argument("--delivery-timeout", type=float, default=d.delivery_timeout)
    p.add_argument("--retry-after-max", type=float, default=d.retry_after_max)
    p.add_argument("--backoff-cap", type=float, default=d.backoff_cap)
    p.add_argument("--concurrency", type=int, default=d.concurrency)
    p.add_argument("--stream-max-age", type=float, default=d.stream_max_age,
                   help="seconds a record stays in a broker's stream at most")
    p.add_argument("--stream-keep", type=int, default=d.stream_keep,
                   help="settled records kept when compacting a stream")
    p.add_argument("--reload-interval", type=float, default=d.reload_interval)
    p.add_argument("--resync-interval", type=float, default=d.resync_interval,
                   help="seconds between re-assertions of streams and consumers")
    p.add_argument("--dedup-window", type=float, default=d.dedup_window,
                   help="seconds during which an event with the same source, id and TTL is "
                        "accepted again without being stored twice (0: off)")
    p.add_argument("--drain-timeout", type=float, default=d.drain_timeout,
                   help="on SIGTERM, seconds for deliveries in flight to finish and be acked")
    p.add_argument("--drain-quiet-period", type=float, default=d.drain_quiet_period,
                   help="on SIGTERM, the ingress keeps serving until no request came for "
                        "this many seconds, then answers the ones in flight and exits")
    p.add_argument("--header-timeout", type=float, default=d.header_timeout,
                   help="seconds a started request head may take before 408 (0: no limit)")
    p.add_argument("--body-timeout", type=float, default=d.body_timeout,
                   help="seconds a request body may take after its head before 408 (0: no "
                        "limit)")
    p.add_argument("--idle-timeout", type=float, default=d.idle_timeout,
                   help="close ingress keep-alive connections idle this long (0: never)")
    p.add_argument("--log-level", default=env("KNPY_LOG_LEVEL", "INFO"))
    a = p.parse_args(argv)
    if bool(a.contract) == bool(a.contract_configmap):
        p.error("give one of --contract (a file) or --contract-configmap (namespace/name)")
    pod_ns = env("POD_NAMESPACE", "")
    if a.contract_configmap and "/" not in a.contract_configmap and not pod_ns:
        p.error("--contract-configmap needs namespace/name (or $POD_NAMESPACE)")
    if a.drain_timeout < 0:
        p.error("--drain-timeout must be >= 0 seconds")
    for flag in ("drain_quiet_period", "header_timeout", "body_timeout", "idle_timeout"):
        if getattr(a, flag) < 0:
            p.error(f"--{flag.replace('_', '-')} must be >= 0 seconds")
    if a.dedup_window < 0:
        p.error("--dedup-window must be >= 0 seconds")
    if a.max_event_bytes < 64 * 1024:
        p.error("--max-event-bytes must be at least 65536 (64 KiB events must pass)")
    s = Settings(contract=Path(a.contract) if a.contract else None,
                 contract_configmap=a.contract_configmap or "", kubeconfig=a.kubeconfig,
                 pod_name=env("POD_NAME", ""), pod_namespace=pod_ns,
                 watch_timeout=a.watch_timeout, nats=a.nats, host=a.host, port=a.port,
                 metrics_port=a.metrics_port,
                 max_event_bytes=a.max_event_bytes, publish_timeout=a.publish_timeout,
                 delivery_timeout=a.delivery_timeout, retry_after_max=a.retry_after_max,
                 backoff_cap=a.backoff_cap, concurrency=a.concurrency,
                 reload_interval=a.reload_interval, resync_interval=a.resync_interval,
                 stream_max_age=a.stream_max_age,
                 stream_keep=a.stream_keep, dedup_window=a.dedup_window,
                 drain_timeout=a.drain_timeout, drain_quiet_period=a.drain_quiet_period,
                 header_timeout=a.header_timeout, body_timeout=a.body_timeout,
                 idle_timeout=a.idle_timeout,
                 log_level=a.log_level)
    roles = ROLES if a.role == "all" else (a.role,)
    return s, roles


async def amain(argv: list[str], stop: asyncio.Event) -> int:
    """The broker process (knpy.runtime.process.run)."""
    settings, roles = parse_args(argv)
    setup_logging(settings.log_level)
    name = "broker" if len(roles) > 1 else f"broker-{roles[0]}"
    trace_settings = tracing.process_settings(name, "broker")
    if trace_settings is None:
        return 2
    tracer = tracing.load(trace_settings, "knpy.broker.oteltracer:BrokerTracer")
    try:
        await run(settings, roles, stop, tracer=tracer)
    finally:
        tracing.shutdown(tracer)
    return 0
