"""config-deployment: how revisions become Deployments (Knative's pkg/deployment keys).

    queue-sidecar-image: ""            # the queue-proxy image (the chart sets knpy's)
    progress-deadline: 600s            # a revision that is not Ready by then fails
    digest-resolution-timeout: 10s
    registries-skipping-tag-resolving: kind.local,ko.local,dev.local
    queue-sidecar-{cpu,memory,ephemeral-storage}-{request,limit}  (cpu-request 25m)
    queue-sidecar-token-audiences: ""  concurrency-state-endpoint: ""
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from knpy.runtime.config import ConfigMapReader

__all__ = ["DEPLOYMENT_CONFIG", "DeploymentConfig", "parse_deployment_config"]

DEPLOYMENT_CONFIG = "config-deployment"
_RESOURCES = ("cpu", "memory", "ephemeral-storage")


def _csv(text: str) -> frozenset[str]:
    return frozenset(p.strip() for p in text.split(",") if p.strip())


@dataclass(frozen=True, slots=True)
class DeploymentConfig:
    queue_sidecar_image: str = ""
    progress_deadline: float = 600.0
    digest_resolution_timeout: float = 10.0
    registries_skipping_tag_resolving: frozenset[str] = frozenset(
        {"kind.local", "ko.local", "dev.local"})
    queue_sidecar_requests: tuple[tuple[str, str], ...] = (("cpu", "25m"),)
    queue_sidecar_limits: tuple[tuple[str, str], ...] = ()
    queue_sidecar_token_audiences: frozenset[str] = frozenset()
    concurrency_state_endpoint: str = ""


def parse_deployment_config(data: Mapping[str, str] | None) -> DeploymentConfig:
    d = DeploymentConfig()
    r = ConfigMapReader(DEPLOYMENT_CONFIG, data)
    cfg = DeploymentConfig(
        queue_sidecar_image=r.string("queue-sidecar-image", r.string("queueSidecarImage", "")),
        progress_deadline=r.duration("progress-deadline", d.progress_deadline, positive=True),
        digest_resolution_timeout=r.duration("digest-resolution-timeout",
                                             d.digest_resolution_timeout, positive=True),
        registries_skipping_tag_resolving=_csv(r.string(
            "registries-skipping-tag-resolving", ",".join(sorted(
                d.registries_skipping_tag_resolving)))),
        queue_sidecar_requests=tuple(
            (res, q) for res in _RESOURCES
            if (q := r.string(f"queue-sidecar-{res}-request",
                              "25m" if res == "cpu" else ""))),
        queue_sidecar_limits=tuple((res, q) for res in _RESOURCES
                                   if (q := r.string(f"queue-sidecar-{res}-limit", ""))),
        queue_sidecar_token_audiences=_csv(r.string("queue-sidecar-token-audiences", "")),
        concurrency_state_endpoint=r.string("concurrency-state-endpoint", ""),
    )
    r.raise_if_errors()
    return cfg
