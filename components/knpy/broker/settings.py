"""Process settings of the broker (flags/env), one frozen value shared by both roles."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Settings:
    contract: Path | None = None  # the brokers+triggers YAML file (standalone mode)
    contract_configmap: str = ""  # "namespace/name" watched through the API (cluster mode)
    kubeconfig: str | None = None  # else $KUBECONFIG, else in-cluster
    pod_name: str = ""  # this pod: where the served contract generation is reported
    pod_namespace: str = ""
    watch_timeout: int = 300  # seconds before the contract watch is renewed
    nats: str = "nats://127.0.0.1:4222"
    host: str = "127.0.0.1"
    port: int = 8080
    metrics_port: int = 0  # GET /metrics (Prometheus); 0: off (the chart uses 9092)
    max_event_bytes: int = 256 * 1024  # larger requests get 413 (>= 64 KiB required)
    publish_timeout: float = 5.0  # wait for JetStream's PubAck at most this long, then 503
    delivery_timeout: float = 30.0  # per-request timeout when delivery.timeout is unset
    retry_after_max: float = 60.0  # cap on Retry-After when delivery.retryAfterMax is unset
    backoff_cap: float = 60.0  # no single backoff longer than this (Knative has no cap)
    concurrency: int = 64  # in-flight deliveries per trigger when the trigger sets none
    reload_interval: float = 1.0  # how often the contract file is polled for changes
    resync_interval: float = 30.0  # how often streams/consumers are re-asserted anyway
    stream_max_age: float = 7 * 86400.0  # records older than this are dropped regardless
    stream_keep: int = 10_000  # settled records kept as a margin when compacting
    dedup_window: float = 120.0  # same source+id+TTL appended again within this: stored once
    drain_timeout: float = 10.0  # on SIGTERM, deliveries in flight get this long to finish
    drain_quiet_period: float = 1.0  # on SIGTERM the ingress serves until this long quiet
    header_timeout: float = 60.0  # a started request head must be complete within this: 408
    body_timeout: float = 60.0  # a request body must be in within this after its head: 408
    idle_timeout: float = 0.0  # keep-alive connections idle this long are closed (0: never)
    log_level: str = "info"
    max_deliver_slack: int = 3  # extra store redeliveries beyond 1+retry (crashes, DLS retries)
