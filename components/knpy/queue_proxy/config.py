"""The queue-proxy's configuration, read from the env vars Knative's queue-proxy reads.

Every malformed value stops the process at start with a message naming the variable.
Ports for admin and metrics are fixed in Knative; knpy also reads QUEUE_ADMIN_PORT,
QUEUE_METRICS_PORT and QUEUE_USER_METRICS_PORT so tests can run several on one host, and
QUEUE_DRAIN_QUIET_PERIOD_SECONDS (Knative's is a fixed 30 s).
knpy's own: ACTIVATOR_ANNOUNCE_ADDRESS (`host:port`) and QUEUE_ANNOUNCE_TOKEN, where and
with what the pod announces itself to the activators once ready (announce.py).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from knpy.runtime.observability.tracing import (
    TracingConfigError,
    TracingSettings,
    settings_from_env,
)
from knpy.runtime.proxy.address import split_address


class ConfigError(ValueError):
    """A malformed env var; the message starts with the variable's name."""


@dataclass(frozen=True, slots=True)
class ProbeSpec:
    """The user container's readiness probe (a Kubernetes Probe, as Knative passes it)."""

    kind: str  # "http" or "tcp"
    host: str
    port: int
    path: str = "/"
    scheme: str = "http"
    headers: tuple[tuple[str, str], ...] = ()
    timeout: float = 0.0  # timeoutSeconds; 0 = the default for the mode
    period: float = 0.0  # periodSeconds; 0 = aggressive (retry every 50 ms for up to 10 s)
    success_threshold: int = 1

    @property
    def aggressive(self) -> bool:
        return self.period == 0


@dataclass(frozen=True, slots=True)
class Config:
    container_concurrency: int = 0
    serving_port: int = 8012
    user_port: int = 8080
    user_host: str = "127.0.0.1"
    admin_port: int = 8022
    metrics_port: int = 9090
    user_metrics_port: int = 9091
    revision_timeout: float = 300.0
    response_start_timeout: float = 0.0
    idle_timeout: float = 0.0
    drain_quiet_period: float = 30.0
    readiness: ProbeSpec = field(default_factory=lambda: ProbeSpec("tcp", "127.0.0.1", 8080))
    namespace: str = ""
    service: str = ""
    configuration: str = ""
    revision: str = ""
    pod: str = ""
    pod_ip: str = ""
    listen_host: str = ""  # "" = every interface, as in a pod
    announce_host: str = ""  # "" = do not announce
    announce_port: int = 0
    announce_token: str = ""
    tracing: TracingSettings = field(default_factory=TracingSettings)

    @property
    def queue_depth(self) -> int:
        return 10 * self.container_concurrency


def _int(env: Mapping[str, str], name: str, default: int, low: int = 0,
         high: int | None = None) -> int:
    raw = env.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}: want an integer, got {raw!r}") from None
    if value < low or (high is not None and value > high):
        bound = f"{low}..{high}" if high is not None else f">= {low}"
        raise ConfigError(f"{name}: want an integer {bound}, got {value}")
    return value


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    return _int(env, name, default, 1, 65535)


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "")
    if raw == "":
        return default
    try:
        value = float(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}: want a number of seconds, got {raw!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"{name}: want a number of seconds >= 0, got {raw!r}")
    return value


def parse_probe(raw: str, user_port: int, name: str = "SERVING_READINESS_PROBE") -> ProbeSpec:
    """Parse Knative's SERVING_READINESS_PROBE JSON (httpGet or tcpSocket; exec and grpc
    probes are run by the kubelet, so the queue-proxy only checks the port is open)."""
    if raw.strip() == "":
        return ProbeSpec("tcp", "127.0.0.1", user_port)
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as e:
        raise ConfigError(f"{name}: not valid JSON: {e}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{name}: want a JSON object (a Kubernetes Probe)")

    def num(key: str, default: float) -> float:
        v = doc.get(key, default)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
            raise ConfigError(f"{name}: {key}: want a number >= 0, got {v!r}")
        return float(v)

    def port_of(sub: dict, path: str) -> int:
        p = sub.get("port", user_port)
        if isinstance(p, str) and p.isdigit():
            p = int(p)
        if isinstance(p, str):
            return user_port  # a named port: Knative rewrites it to the user port
        if isinstance(p, bool) or not isinstance(p, int) or not 0 <= p <= 65535:
            raise ConfigError(f"{name}: {path}.port: want a port number, got {p!r}")
        return p or user_port

    timeout = num("timeoutSeconds", 0)
    period = num("periodSeconds", 0)
    success = int(num("successThreshold", 1)) or 1
    if "httpGet" in doc:
        sub = doc["httpGet"]
        if not isinstance(sub, dict):
            raise ConfigError(f"{name}: httpGet: want an object")
        scheme = str(sub.get("scheme", "HTTP")).lower()
        if scheme not in ("http", "https"):
            raise ConfigError(f"{name}: httpGet.scheme: want HTTP or HTTPS, got {scheme!r}")
        headers = []
        for i, h in enumerate(sub.get("httpHeaders") or []):
            if not isinstance(h, dict) or not isinstance(h.get("name"), str):
                raise ConfigError(f"{name}: httpGet.httpHeaders[{i}]: want {{name, value}}")
            headers.append((h["name"], str(h.get("value", ""))))
        path = str(sub.get("path") or "/")
        if not path.startswith("/"):
            path = "/" + path
        return ProbeSpec("http", str(sub.get("host") or "127.0.0.1"), port_of(sub, "httpGet"),
                         path, scheme, tuple(headers), timeout, period, success)
    if "tcpSocket" in doc:
        sub = doc["tcpSocket"]
        if not isinstance(sub, dict):
            raise ConfigError(f"{name}: tcpSocket: want an object")
        return ProbeSpec("tcp", str(sub.get("host") or "127.0.0.1"), port_of(sub, "tcpSocket"),
                         timeout=timeout, period=period, success_threshold=success)
    if "exec" in doc or "grpc" in doc:
        return ProbeSpec("tcp", "127.0.0.1", user_port, timeout=timeout, period=period,
                         success_threshold=success)
    raise ConfigError(f"{name}: want one of httpGet, tcpSocket, exec or grpc")


def _tracing(env: Mapping[str, str]) -> TracingSettings:
    try:
        return settings_from_env(env, "queue-proxy")
    except TracingConfigError as e:
        raise ConfigError(str(e)) from None


def _announce(env: Mapping[str, str]) -> tuple[str, int, str]:
    raw = env.get("ACTIVATOR_ANNOUNCE_ADDRESS", "").strip()
    tok = env.get("QUEUE_ANNOUNCE_TOKEN", "").strip()
    if not raw or not tok:
        return "", 0, ""
    try:
        host, port = split_address(raw)
    except ValueError:
        raise ConfigError(f"ACTIVATOR_ANNOUNCE_ADDRESS: want host:port, got {raw!r}") from None
    return host, port, tok


def from_env(env: Mapping[str, str]) -> Config:
    """Read and check every variable; raises ConfigError naming the first bad one."""
    user_port = _port(env, "USER_PORT", 8080)
    announce_host, announce_port, announce_token = _announce(env)
    cfg = Config(
        container_concurrency=_int(env, "CONTAINER_CONCURRENCY", 0, 0, 1000),
        serving_port=_port(env, "QUEUE_SERVING_PORT", 8012),
        user_port=user_port,
        admin_port=_port(env, "QUEUE_ADMIN_PORT", 8022),
        metrics_port=_port(env, "QUEUE_METRICS_PORT", 9090),
        user_metrics_port=_port(env, "QUEUE_USER_METRICS_PORT", 9091),
        revision_timeout=_seconds(env, "REVISION_TIMEOUT_SECONDS", 300.0),
        response_start_timeout=_seconds(env, "REVISION_RESPONSE_START_TIMEOUT_SECONDS", 0.0),
        idle_timeout=_seconds(env, "REVISION_IDLE_TIMEOUT_SECONDS", 0.0),
        drain_quiet_period=_seconds(env, "QUEUE_DRAIN_QUIET_PERIOD_SECONDS", 30.0),
        readiness=parse_probe(env.get("SERVING_READINESS_PROBE", ""), user_port),
        namespace=env.get("SERVING_NAMESPACE", ""),
        service=env.get("SERVING_SERVICE", ""),
        configuration=env.get("SERVING_CONFIGURATION", ""),
        revision=env.get("SERVING_REVISION", ""),
        pod=env.get("SERVING_POD", ""),
        pod_ip=env.get("SERVING_POD_IP", ""),
        listen_host=env.get("QUEUE_LISTEN_HOST", ""),
        announce_host=announce_host,
        announce_port=announce_port,
        announce_token=announce_token,
        tracing=_tracing(env),
    )
    ports = {"QUEUE_SERVING_PORT": cfg.serving_port, "QUEUE_ADMIN_PORT": cfg.admin_port,
             "QUEUE_METRICS_PORT": cfg.metrics_port,
             "QUEUE_USER_METRICS_PORT": cfg.user_metrics_port}
    seen: dict[int, str] = {}
    for var, port in ports.items():
        if port in seen:
            raise ConfigError(f"{var}: port {port} is already used by {seen[port]}")
        seen[port] = var
    for var in ("REVISION_RESPONSE_START_TIMEOUT_SECONDS", "REVISION_IDLE_TIMEOUT_SECONDS"):
        value = cfg.response_start_timeout if "START" in var else cfg.idle_timeout
        if cfg.revision_timeout and value > cfg.revision_timeout:
            raise ConfigError(f"{var}: {value:g} s exceeds REVISION_TIMEOUT_SECONDS "
                              f"({cfg.revision_timeout:g} s)")
    return cfg
