"""The activator's process settings (flags, with env fallbacks) and the standalone file.

Standalone backends come from flags (one revision) or a YAML file, re-read whenever it
changes. The file has one of two shapes:

    activators: ["10.0.0.1", "10.0.0.2"]   # optional: every activator's IP (subsetting)
    revisions:
      - namespace: default                 # default "default"
        name: hello-00001
        containerConcurrency: 0            # default 0
        timeoutSeconds: 300                # longest a request waits for a pod; default 300
        backends: ["127.0.0.1:8013"]       # queue-proxy addresses

or the autoscaler's endpoints view (`python -m knpy.autoscaler --endpoints-file`):
`{"ns/name": {"containerConcurrency": 0, "pods": ["127.0.0.1:8013"], ...}}`, so the
activator follows the pods the autoscaler's process scale target starts and stops.
Every error names the field, e.g. `invalid value: ...: revisions[0].backends[1]`.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from knpy.activator.revisions import RevisionConfig
from knpy.activator.throttler import DEFAULT_TIMEOUT, QUEUE_DEPTH
from knpy.runtime.config import FieldError, parse_unique_list
from knpy.runtime.contract import announce
from knpy.runtime.proxy.address import split_address

# --endpoints-api: "auto" picks EndpointSlices where discovery.k8s.io/v1 is served. v1beta1
# (1.17-1.24) is only ever chosen explicitly: tests drive the slice path on the 1.20 API server.
ENDPOINTS_APIS = ("auto", "endpoints", "discovery.k8s.io/v1", "discovery.k8s.io/v1beta1")


@dataclass(frozen=True, slots=True)
class Standalone:
    revisions: tuple[RevisionConfig, ...] = ()
    activators: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "0.0.0.0"
    port: int = 8012
    h2c_port: int = 8013
    metrics_port: int = 9090
    announce_port: int = 0
    announce_key: bytes | None = None
    autoscaler_url: str = ""
    pod_name: str = "activator"
    pod_ip: str = ""
    cluster: bool = False
    system_namespace: str = "knative-serving"
    kubeconfig: str | None = None
    endpoints_api: str = "auto"
    config_file: Path | None = None
    flag_revision: RevisionConfig | None = None
    queue_depth: int = QUEUE_DEPTH
    probe: bool = True
    drain_timeout: float = 30.0
    drain_quiet_period: float = 0.0
    log_level: str = "info"


# ---------------------------------------------------------------------- the file
def _int(raw: Any, path: str, low: int = 0) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < low:
        raise FieldError.invalid(raw, path, details=f"want an integer >= {low}")
    return raw


def _seconds(raw: Any, path: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or raw < 0:
        raise FieldError.invalid(raw, path, details="want a number of seconds >= 0")
    return float(raw)


def _backends(raw: Any, path: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise FieldError.invalid(raw, path, details="want a list of host:port")
    out = []
    for i, b in enumerate(raw):
        try:
            if not isinstance(b, str):
                raise ValueError("want host:port")
            split_address(b)
        except ValueError:
            raise FieldError.invalid(b, f"{path}[{i}]", details="want host:port") from None
        out.append(b)
    return tuple(out)


def _name(raw: Any, path: str) -> str:
    if not isinstance(raw, str) or not raw or "/" in raw:
        raise FieldError.invalid(raw, path, details="want a non-empty name without '/'")
    return raw


def _revision(raw: Any) -> RevisionConfig:
    if not isinstance(raw, Mapping):
        raise FieldError.invalid(raw, "", details="want a mapping")
    unknown = set(raw) - {"namespace", "name", "containerConcurrency", "timeoutSeconds",
                          "backends"}
    if unknown:
        raise FieldError(f"unknown field(s) {sorted(unknown)}", "")
    if "name" not in raw:
        raise FieldError.missing("name")
    return RevisionConfig(
        namespace=_name(raw.get("namespace", "default"), "namespace"),
        name=_name(raw["name"], "name"),
        container_concurrency=_int(raw.get("containerConcurrency", 0), "containerConcurrency"),
        timeout=_seconds(raw.get("timeoutSeconds", DEFAULT_TIMEOUT), "timeoutSeconds"),
        backends=_backends(raw.get("backends"), "backends"))


def _endpoints_view(doc: Mapping[str, Any]) -> Standalone:
    revs = []
    for key, entry in sorted(doc.items()):
        ns, sep, name = str(key).partition("/")
        if not sep or not ns or not name:
            raise FieldError.invalid(key, str(key), details="want namespace/name keys")
        if not isinstance(entry, Mapping):
            raise FieldError.invalid(entry, key, details="want a mapping")
        try:
            revs.append(RevisionConfig(
                ns, name, _int(entry.get("containerConcurrency", 0), "containerConcurrency"),
                _seconds(entry.get("timeoutSeconds", DEFAULT_TIMEOUT), "timeoutSeconds"),
                _backends(entry.get("pods"), "pods")))
        except FieldError as e:
            raise e.via_field(key) from None
    return Standalone(tuple(revs))


def parse_standalone(doc: Any) -> Standalone:
    """Parse either file shape; raises FieldError with paths from the file's root."""
    if doc is None:
        return Standalone()
    if not isinstance(doc, Mapping):
        raise FieldError.invalid(type(doc).__name__, "", details="want a mapping at the top")
    if doc and all("/" in str(k) for k in doc):
        return _endpoints_view(doc)
    unknown = set(doc) - {"revisions", "activators"}
    if unknown:
        raise FieldError(f"unknown field(s) {sorted(unknown)}", "",
                         details="want revisions, activators (or an endpoints view)")
    acts = doc.get("activators")
    acts = [] if acts is None else acts
    if not isinstance(acts, list) or not all(isinstance(a, str) and a for a in acts):
        raise FieldError.invalid(acts, "activators", details="want a list of IPs")
    revs = parse_unique_list(doc.get("revisions"), "revisions", _revision,
                             lambda r: r.key, "revision")
    return Standalone(tuple(revs), tuple(acts))


def load_file(path: Path) -> Standalone:
    """Read and parse the standalone file; FieldError (or OSError) on failure."""
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise FieldError(f"not valid YAML: {exc}", str(path)) from None
    return parse_standalone(doc)


# ---------------------------------------------------------------------- flags
def _port(p: argparse.ArgumentParser, name: str, value: int) -> int:
    if not 0 <= value <= 65535:
        p.error(f"{name}: {value} is not a TCP port")
    return value


def parse_args(argv: list[str] | None = None,
               env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    p = argparse.ArgumentParser(prog="python -m knpy.activator",
                                description="knpy activator (docs/activator.md)")

    def env_int(name: str, default: int) -> int:
        raw = env.get(name, "")
        if raw == "":
            return default
        try:
            return int(raw)
        except ValueError:
            p.error(f"{name}: want an integer, got {raw!r}")
            raise  # unreachable: p.error exits

    p.add_argument("--host", default=env.get("ACTIVATOR_HOST", "0.0.0.0"))
    p.add_argument("--port", type=int, default=env_int("ACTIVATOR_PORT", 8012),
                   help="HTTP/1.1 port (Knative: 8012)")
    p.add_argument("--h2c-port", type=int, default=env_int("ACTIVATOR_H2C_PORT", 8013),
                   help="h2c port (Knative: 8013); not served yet, see docs/activator.md")
    p.add_argument("--metrics-port", type=int, default=env_int("ACTIVATOR_METRICS_PORT", -1),
                   help="Prometheus /metrics; 0 = off (default: 9090, Knative's, with "
                        "--cluster; off standalone, where many processes share one host)")
    p.add_argument("--announce-port", type=int,
                   default=env_int("ACTIVATOR_ANNOUNCE_PORT", announce.DEFAULT_PORT),
                   help=f"where pods announce themselves (needs ${announce.KEY_ENV}; 0 = off)")
    p.add_argument("--autoscaler-url", default=env.get("ACTIVATOR_AUTOSCALER_URL"),
                   help="websocket for stats (cluster default: "
                        "ws://autoscaler.<system-namespace>.svc.cluster.local:8080/)")
    p.add_argument("--pod-name", default=env.get("POD_NAME", "activator"))
    p.add_argument("--pod-ip", default=env.get("POD_IP", ""))
    p.add_argument("--cluster", action="store_true",
                   default=env.get("ACTIVATOR_MODE", "") == "cluster",
                   help="read revisions and endpoints from the Kubernetes API")
    p.add_argument("--system-namespace", default=env.get("SYSTEM_NAMESPACE", "knative-serving"))
    p.add_argument("--kubeconfig", default=env.get("KUBECONFIG"))
    p.add_argument("--endpoints-api", default=env.get("ACTIVATOR_ENDPOINTS_API", "auto"),
                   choices=ENDPOINTS_APIS,
                   help="--cluster: where revisions' pods come from (auto: EndpointSlices "
                        "where discovery.k8s.io/v1 is served, else Endpoints)")
    p.add_argument("--config", type=Path, default=env.get("ACTIVATOR_CONFIG_FILE"),
                   help="standalone YAML (or the autoscaler's endpoints JSON); re-read on change")
    p.add_argument("--revision", help="standalone: serve one revision, namespace/name")
    p.add_argument("--container-concurrency", type=int, default=0)
    p.add_argument("--timeout-seconds", type=float, default=DEFAULT_TIMEOUT)
    p.add_argument("--backend", action="append", default=[],
                   help="standalone: a queue-proxy address host:port (repeatable)")
    p.add_argument("--queue-depth", type=int, default=QUEUE_DEPTH)
    p.add_argument("--no-probe", action="store_true",
                   help="trust backends without probing them (benchmarks only)")
    p.add_argument("--drain-timeout", type=float, default=30.0,
                   help="after the quiet period, how long requests in flight may finish")
    p.add_argument("--drain-quiet-period", type=float, default=None,
                   help="SIGTERM: keep serving until no request came for this long "
                        "(default 15 s with --cluster, 0 standalone)")
    p.add_argument("--log-level", default=env.get("LOG_LEVEL", "info"))
    a = p.parse_args(argv)
    _port(p, "--port", a.port)
    _port(p, "--h2c-port", a.h2c_port)
    key = announce.key_from_env(env)
    if key is None:
        a.announce_port = 0
    elif a.announce_port:
        _port(p, "--announce-port", a.announce_port)
        if a.announce_port == a.port:
            p.error(f"--announce-port: {a.announce_port} is already --port")
    if a.metrics_port == -1:
        a.metrics_port = 9090 if a.cluster else 0
    _port(p, "--metrics-port", a.metrics_port)
    if a.metrics_port and a.metrics_port == a.port:
        p.error(f"--metrics-port: {a.metrics_port} is already --port")
    quiet = a.drain_quiet_period
    if quiet is None:
        quiet = 15.0 if a.cluster else 0.0
    if quiet < 0 or a.drain_timeout < 0:
        p.error("--drain-quiet-period and --drain-timeout: want seconds >= 0")
    if a.queue_depth < 1:
        p.error(f"--queue-depth: want >= 1, got {a.queue_depth}")
    if a.container_concurrency < 0:
        p.error(f"--container-concurrency: want >= 0, got {a.container_concurrency}")
    flag_rev = None
    if a.revision:
        ns, sep, name = a.revision.partition("/")
        if not sep or not ns or not name or "/" in name:
            p.error(f"--revision: want namespace/name, got {a.revision!r}")
        for b in a.backend:
            try:
                split_address(b)
            except ValueError:
                p.error(f"--backend: want host:port, got {b!r}")
        flag_rev = RevisionConfig(ns, name, a.container_concurrency, a.timeout_seconds,
                                  tuple(a.backend))
    elif a.backend:
        p.error("--backend needs --revision")
    if a.endpoints_api not in ENDPOINTS_APIS:  # argparse checks choices on the flag only
        p.error(f"--endpoints-api (ACTIVATOR_ENDPOINTS_API): want one of "
                f"{', '.join(ENDPOINTS_APIS)}, got {a.endpoints_api!r}")
    if a.cluster and (a.config or flag_rev):
        p.error("--cluster reads the Kubernetes API: drop --config/--revision")
    url = a.autoscaler_url
    if url is None:
        url = (f"ws://autoscaler.{a.system_namespace}.svc.cluster.local:8080/"
               if a.cluster else "")
    if url and not url.startswith(("ws://", "wss://")):
        p.error(f"--autoscaler-url: want ws:// or wss://, got {url!r}")
    return Settings(host=a.host, port=a.port, h2c_port=a.h2c_port,
                    metrics_port=a.metrics_port, autoscaler_url=url,
                    announce_port=a.announce_port, announce_key=key,
                    pod_name=a.pod_name, pod_ip=a.pod_ip, cluster=a.cluster,
                    system_namespace=a.system_namespace, kubeconfig=a.kubeconfig,
                    endpoints_api=a.endpoints_api,
                    config_file=a.config, flag_revision=flag_rev, queue_depth=a.queue_depth,
                    probe=not a.no_probe, drain_timeout=a.drain_timeout,
                    drain_quiet_period=quiet,
                    log_level=a.log_level)
