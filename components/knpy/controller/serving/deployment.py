"""A Revision's Deployment `<rev>-deployment` (Knative's revision/resources deploy.go and
queue.go): the user container(s) with Knative's env and port, and the queue-proxy sidecar
configured through the env vars knpy.queue_proxy.config reads.

The user container's HTTP / TCP / gRPC readiness probe moves into the queue-proxy
(SERVING_READINESS_PROBE), which probes the user container on 127.0.0.1; the pod's readiness
probe asks the queue-proxy (`K-Network-Probe: queue`). An exec probe stays with the kubelet
and the queue-proxy checks the port over TCP.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from knpy.apis.autoscaling.annotations import parse_annotations
from knpy.apis.autoscaling.config import AutoscalerConfig
from knpy.apis.serving.config_deployment import DeploymentConfig
from knpy.apis.serving.config_features import EMPTY_DIR, Features
from knpy.apis.serving.config_observability import ObservabilityConfig
from knpy.apis.serving.v1 import Revision
from knpy.apis.serving.v1.register import (
    CONFIGURATION_LABEL,
    PROGRESS_DEADLINE_ANNOTATION,
    REVISION_LABEL,
    REVISION_LAST_PINNED_ANNOTATION,
    REVISION_UID_LABEL,
    ROUTE_LABEL,
    ROUTES_ANNOTATION,
    ROUTING_STATE_LABEL,
    ROUTING_STATE_MODIFIED_ANNOTATION,
    SERVICE_LABEL,
)
from knpy.apis.serving.v1.revision_types import serving_container_index
from knpy.controller.serving.resources import SPEC_HASH_ANNOTATION
from knpy.runtime.config import FieldError, parse_go_duration
from knpy.runtime.contract.announce import token as announce_token
from knpy.runtime.k8s import owner_reference
from knpy.runtime.k8s.naming import child_name, spec_hash

__all__ = ["QUEUE_CONTAINER", "deployment_name", "initial_scale", "make_deployment",
           "revision_annotations", "revision_labels"]

QUEUE_CONTAINER = "queue-proxy"
USER_PORT_NAME = "user-port"
QUEUE_HTTP_PORT = 8012
QUEUE_H2C_PORT = 8013
QUEUE_HTTPS_PORT = 8112
QUEUE_ADMIN_PORT = 8022
QUEUE_METRICS_PORT = 9090
QUEUE_USER_METRICS_PORT = 9091
DRAIN_PATH = "/wait-for-drain"
PROBE_HEADER = "K-Network-Probe"
LOCALHOST = "127.0.0.1"
APP_LABEL = "app"
AGGRESSIVE_POD_PROBE_PERIOD = 1

# revision fields that are Knative's, not the pod's
_REVISION_ONLY = ("containers", "containerConcurrency", "timeoutSeconds",
                  "responseStartTimeoutSeconds", "idleTimeoutSeconds")
# labels / annotations that change without the pods needing to
_SKIP_LABELS = frozenset({ROUTE_LABEL, ROUTING_STATE_LABEL})
_SKIP_ANNOTATIONS = frozenset({ROUTING_STATE_MODIFIED_ANNOTATION, ROUTES_ANNOTATION,
                               REVISION_LAST_PINNED_ANNOTATION,
                               "kubectl.kubernetes.io/last-applied-configuration"})


def deployment_name(rev_name: str) -> str:
    return child_name(rev_name, "-deployment")


def revision_labels(rev: Revision) -> dict[str, str]:
    """Knative's makeLabels: the revision's labels plus revision / revisionUID, and `app`."""
    labels = {k: v for k, v in rev.labels.items() if k not in _SKIP_LABELS}
    labels[REVISION_LABEL] = rev.name
    labels[REVISION_UID_LABEL] = rev.metadata.get("uid", "")
    labels.setdefault(APP_LABEL, rev.name)
    return labels


def revision_annotations(rev: Revision) -> dict[str, str]:
    return {k: v for k, v in rev.annotations.items() if k not in _SKIP_ANNOTATIONS}


def initial_scale(rev: Revision, autoscaler: AutoscalerConfig) -> int:
    """config-autoscaler initial-scale, or the revision's initial-scale annotation."""
    try:
        ann = parse_annotations(autoscaler, rev.annotations).initial_scale
    except FieldError:
        ann = None  # the webhook admitted it under other settings: use the config's
    return autoscaler.initial_scale if ann is None else ann


def _knative_env(rev: Revision) -> list[dict[str, str]]:
    return [{"name": "K_REVISION", "value": rev.name},
            {"name": "K_CONFIGURATION", "value": rev.labels.get(CONFIGURATION_LABEL, "")},
            {"name": "K_SERVICE", "value": rev.labels.get(SERVICE_LABEL, "")}]


def _queue_probe(user_probe: dict[str, Any] | None, port: int) -> dict[str, Any]:
    """Knative's applyReadinessProbeDefaults: the probe the queue-proxy runs against the
    user container on localhost (TCP when the user's is an exec probe or none)."""
    p: dict[str, Any] = copy.deepcopy(user_probe) if user_probe else {}
    if "httpGet" in p:
        p["httpGet"] = {**p["httpGet"], "host": LOCALHOST, "port": port}
        p["httpGet"].setdefault("scheme", "HTTP")
    elif "grpc" in p:
        p["grpc"] = {**p["grpc"], "port": port}
    else:  # tcpSocket, or exec (which the kubelet still runs in the user container)
        p.pop("exec", None)
        p["tcpSocket"] = {"host": LOCALHOST, "port": port}
    if p.get("periodSeconds", 0) > 0 and p.get("timeoutSeconds", 0) < 1:
        p["timeoutSeconds"] = 1
    return p


def _user_container(c: dict[str, Any], rev: Revision, *, serving: bool,
                    port: int) -> dict[str, Any]:
    out = copy.deepcopy(c)
    env = list(out.get("env") or [])
    if serving:
        out["ports"] = [{"name": USER_PORT_NAME, "containerPort": port, "protocol": "TCP"}]
        env.append({"name": "PORT", "value": str(port)})
        out["lifecycle"] = {"preStop": {"httpGet": {"port": QUEUE_ADMIN_PORT,
                                                    "path": DRAIN_PATH}}}
    out["env"] = env + _knative_env(rev)
    out["stdin"] = False
    out["tty"] = False
    out.setdefault("terminationMessagePolicy", "FallbackToLogsOnError")
    rp = out.get("readinessProbe")
    if rp and any(h in rp for h in ("httpGet", "tcpSocket", "grpc")):
        del out["readinessProbe"]  # the queue-proxy runs it
    lp = out.get("livenessProbe")
    if serving and lp:
        for h in ("httpGet", "tcpSocket", "grpc"):
            if h in lp and not lp[h].get("port"):
                lp[h]["port"] = port
    return out


def observability_env(cfg: ObservabilityConfig | None) -> str:
    """The queue-proxy's OBSERVABILITY_CONFIG (runtime.observability.tracing): the tracing
    keys of config-observability as JSON; "" (no env var, the Deployment unchanged) while
    tracing is off."""
    if cfg is None or cfg.tracing_protocol == "none":
        return ""
    return json.dumps({"tracing-protocol": cfg.tracing_protocol,
                       "tracing-endpoint": cfg.tracing_endpoint,
                       "tracing-sampling-rate": str(cfg.tracing_sampling_rate)},
                      separators=(",", ":"), sort_keys=True)


@dataclass(frozen=True, slots=True)
class Announce:
    """Where new pods announce themselves (`host:port`, every activator behind one name)
    and the key their tokens are made with (knpy.runtime.contract.announce)."""

    address: str
    key: bytes

    def env(self, rev: Revision) -> list[dict[str, str]]:
        return [{"name": "ACTIVATOR_ANNOUNCE_ADDRESS", "value": self.address},
                {"name": "QUEUE_ANNOUNCE_TOKEN",
                 "value": announce_token(self.key, rev.namespace, rev.name)}]


def _queue_container(rev: Revision, cfg: DeploymentConfig, probe: dict[str, Any],
                     user_probe: dict[str, Any] | None, port: int,
                     observability: ObservabilityConfig | None,
                     announce: Announce | None) -> dict[str, Any]:
    spec = rev.spec
    serving_port = QUEUE_H2C_PORT if spec.port_name == "h2c" else QUEUE_HTTP_PORT
    timeout = spec.timeout_seconds or 300

    def env(name: str, value: Any) -> dict[str, str]:
        return {"name": name, "value": str(value)}

    resources: dict[str, Any] = {}
    if cfg.queue_sidecar_requests:
        resources["requests"] = dict(cfg.queue_sidecar_requests)
    if cfg.queue_sidecar_limits:
        resources["limits"] = dict(cfg.queue_sidecar_limits)
    # The user's period and timeout; with none (the queue-proxy probes aggressively) every
    # second, where Knative leaves Kubernetes' 10 s: a new pod turns Ready (and joins the
    # endpoints) up to 9 s sooner on a cold start.
    up = user_probe or {}
    readiness: dict[str, Any] = {
        "httpGet": {"port": serving_port, "httpHeaders": [
            {"name": PROBE_HEADER, "value": "queue"}]},
        "periodSeconds": up.get("periodSeconds") or AGGRESSIVE_POD_PROBE_PERIOD}
    if up.get("timeoutSeconds"):
        readiness["timeoutSeconds"] = up["timeoutSeconds"]
    return {
        "name": QUEUE_CONTAINER,
        "image": cfg.queue_sidecar_image,
        "ports": [{"name": "http-queueadm", "containerPort": QUEUE_ADMIN_PORT},
                  {"name": "http-autometric", "containerPort": QUEUE_METRICS_PORT},
                  {"name": "http-usermetric", "containerPort": QUEUE_USER_METRICS_PORT},
                  {"name": "queue-port", "containerPort": serving_port},
                  {"name": "https-port", "containerPort": QUEUE_HTTPS_PORT}],
        "env": [
            env("SERVING_NAMESPACE", rev.namespace),
            env("SERVING_SERVICE", rev.labels.get(SERVICE_LABEL, "")),
            env("SERVING_CONFIGURATION", rev.labels.get(CONFIGURATION_LABEL, "")),
            env("SERVING_REVISION", rev.name),
            env("QUEUE_SERVING_PORT", serving_port),
            env("QUEUE_SERVING_TLS_PORT", QUEUE_HTTPS_PORT),
            env("CONTAINER_CONCURRENCY", spec.container_concurrency),
            env("REVISION_TIMEOUT_SECONDS", timeout),
            env("REVISION_RESPONSE_START_TIMEOUT_SECONDS",
                spec.response_start_timeout_seconds or 0),
            env("REVISION_IDLE_TIMEOUT_SECONDS", spec.idle_timeout_seconds or 0),
            {"name": "SERVING_POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "SERVING_POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            env("USER_PORT", port),
            env("SERVING_READINESS_PROBE", json.dumps(probe, separators=(",", ":"),
                                                      sort_keys=True)),
            *([env("OBSERVABILITY_CONFIG", tracing)]
              if (tracing := observability_env(observability)) else []),
            *(announce.env(rev) if announce is not None else []),
        ],
        "resources": resources,
        "readinessProbe": readiness,
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]},
                            "seccompProfile": {"type": "RuntimeDefault"}},
    }


def _pod_spec(rev: Revision, cfg: DeploymentConfig, features: Features,
              observability: ObservabilityConfig | None,
              announce: Announce | None) -> dict[str, Any]:
    spec = rev.spec
    pod = {k: copy.deepcopy(v) for k, v in spec.raw.items() if k not in _REVISION_ONLY}
    containers = spec.containers
    idx = serving_container_index(containers)
    port = spec.user_port
    user_probe = containers[idx].get("readinessProbe") if idx is not None else None
    out = [_user_container(c, rev, serving=i == idx, port=port)
           for i, c in enumerate(containers)]
    out.append(_queue_container(rev, cfg, _queue_probe(user_probe, port), user_probe, port,
                                observability, announce))
    if not features.enabled(EMPTY_DIR):  # the webhook refuses them; never pass one through
        dropped = {v.get("name") for v in pod.get("volumes") or [] if "emptyDir" in v}
        if dropped:
            pod["volumes"] = [v for v in pod["volumes"] if v.get("name") not in dropped]
            for c in out:
                c["volumeMounts"] = [m for m in c.get("volumeMounts") or []
                                     if m.get("name") not in dropped]
    pod["containers"] = out
    pod["terminationGracePeriodSeconds"] = spec.timeout_seconds or 300
    return pod


def _progress_deadline(rev: Revision, cfg: DeploymentConfig) -> int:
    raw = rev.annotations.get(PROGRESS_DEADLINE_ANNOTATION)
    if raw:
        try:
            return max(1, int(parse_go_duration(raw)))
        except ValueError:
            pass
    return int(cfg.progress_deadline)


def make_deployment(rev: Revision, cfg: DeploymentConfig, autoscaler: AutoscalerConfig,
                    features: Features, observability: ObservabilityConfig | None = None,
                    announce: Announce | None = None) -> dict[str, Any]:
    """The Deployment; its spec hash leaves out `replicas`, which the autoscaler owns."""
    labels = revision_labels(rev)
    ann = revision_annotations(rev)
    spec = {
        "selector": {"matchLabels": {REVISION_UID_LABEL: rev.metadata.get("uid", "")}},
        "progressDeadlineSeconds": _progress_deadline(rev, cfg),
        "strategy": {"type": "RollingUpdate",
                     "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "100%"}},
        "template": {"metadata": {"labels": dict(labels), "annotations": dict(ann)},
                     "spec": _pod_spec(rev, cfg, features, observability, announce)},
    }
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": deployment_name(rev.name), "namespace": rev.namespace,
                         "labels": labels,
                         "annotations": {**ann, SPEC_HASH_ANNOTATION: spec_hash(spec)},
                         "ownerReferences": [owner_reference(rev.raw)]},
            "spec": {"replicas": initial_scale(rev, autoscaler), **spec}}
