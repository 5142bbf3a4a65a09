"""The gateway's flags (each with an env var, for the chart)."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass

__all__ = ["Settings", "parse_args"]

DEFAULT_CLASS = "knpy.ingress.networking.knative.dev"


@dataclass(frozen=True, slots=True)
class Settings:
    kubeconfig: str | None = None
    config: str | None = None  # standalone: Ingresses and Services from this YAML file
    namespace: str = "knpy-system"
    host: str = "0.0.0.0"
    port: int = 8080  # ExternalIP rules
    internal_port: int = 8081  # every rule (ClusterLocal too)
    probe_port: int = 8090  # /healthz, /readyz, /metrics; 0: off
    ingress_class: str = DEFAULT_CLASS
    public_service: str = "knpy-ingress"
    private_service: str = "knpy-ingress-internal"
    cluster_domain: str = "cluster.local"
    drain_timeout: float = 30.0
    drain_quiet_period: float = 0.0
    log_level: str = "INFO"

    def domain_of(self, service: str) -> str:
        """The in-cluster host of one of the gateway's Services (KIngress status)."""
        return f"{service}.{self.namespace}.svc.{self.cluster_domain}"


def parse_args(argv: list[str] | None = None) -> Settings:
    env = os.environ.get
    p = argparse.ArgumentParser(prog="python -m knpy.ingress")
    p.add_argument("--kubeconfig", default=env("KUBECONFIG"))
    p.add_argument("--config", default=None,
                   help="standalone: KIngresses and Services from this YAML file, no API")
    p.add_argument("--namespace", default=env("SYSTEM_NAMESPACE", "knpy-system"))
    p.add_argument("--host", default="0.0.0.0")
    p.add_argument("--port", type=int, default=int(env("KNPY_INGRESS_PORT", "8080")),
                   help="the public listener: ExternalIP rules")
    p.add_argument("--internal-port", type=int,
                   default=int(env("KNPY_INGRESS_INTERNAL_PORT", "8081")),
                   help="the in-cluster listener: every rule")
    p.add_argument("--probe-port", type=int, default=int(env("KNPY_PROBE_PORT", "8090")),
                   help="GET /healthz, /readyz and /metrics (0: off)")
    p.add_argument("--ingress-class", default=env("KNPY_INGRESS_CLASS", DEFAULT_CLASS))
    p.add_argument("--public-service", default=env("KNPY_INGRESS_SERVICE", "knpy-ingress"))
    p.add_argument("--private-service",
                   default=env("KNPY_INGRESS_INTERNAL_SERVICE", "knpy-ingress-internal"))
    p.add_argument("--cluster-domain", default=env("KNPY_CLUSTER_DOMAIN", "cluster.local"))
    p.add_argument("--drain-timeout", type=float, default=30.0,
                   help="after the quiet period, how long requests in flight may finish")
    p.add_argument("--drain-quiet-period", type=float, default=0.0,
                   help="SIGTERM: keep accepting (readiness failing) until no request came "
                        "for this long, so the node's Service rules drop this pod first")
    p.add_argument("--log-level", default=env("KNPY_LOG_LEVEL", "INFO"))
    a = p.parse_args(argv)
    if a.drain_quiet_period < 0 or a.drain_timeout < 0:
        p.error("--drain-quiet-period and --drain-timeout: want seconds >= 0")
    return Settings(kubeconfig=a.kubeconfig, config=a.config, namespace=a.namespace,
                    host=a.host, port=a.port,
                    internal_port=a.internal_port, probe_port=a.probe_port,
                    ingress_class=a.ingress_class, public_service=a.public_service,
                    private_service=a.private_service, cluster_domain=a.cluster_domain,
                    drain_timeout=a.drain_timeout,
                    drain_quiet_period=a.drain_quiet_period, log_level=a.log_level)
