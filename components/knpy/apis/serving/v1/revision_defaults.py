"""Revision spec defaults from config-defaults (Knative's revision_defaults.go):
timeoutSeconds 300, containerConcurrency 0, container names (`user-container`, or
`user-container-<i>` when there are several), the serving container's readiness probe
(tcpSocket, successThreshold 1; periodSeconds 0 means the queue-proxy's aggressive probing),
default resources, enableServiceLinks false."""

from __future__ import annotations

import copy
from typing import Any

from knpy.apis.serving.config_defaults import Defaults
from knpy.apis.serving.v1.revision_types import serving_container_index

__all__ = ["set_revision_defaults", "set_revision_spec_defaults"]

_HANDLERS = ("tcpSocket", "httpGet", "exec", "grpc")


def _default_probe(c: dict[str, Any]) -> None:
    probe = c.get("readinessProbe")
    if not isinstance(probe, dict):
        probe = c["readinessProbe"] = {}
    if not any(probe.get(h) is not None for h in _HANDLERS):
        probe["tcpSocket"] = {"port": 0}
    if not probe.get("successThreshold"):
        probe["successThreshold"] = 1
    if probe.get("periodSeconds"):  # Kubernetes' own defaults once a period is set
        probe.setdefault("failureThreshold", 3)
        probe.setdefault("timeoutSeconds", 1)


def _default_resources(c: dict[str, Any], d: Defaults) -> None:
    for field, defaults in (("requests", d.requests), ("limits", d.limits)):
        if not defaults:
            continue
        res = c.get("resources")
        if not isinstance(res, dict):
            res = c["resources"] = {}
        cur = res.get(field)
        if not isinstance(cur, dict):
            cur = res[field] = {}
        for name, q in defaults:
            cur.setdefault(name, q)


def set_revision_spec_defaults(spec: dict[str, Any], d: Defaults) -> None:
    """Default a revision spec in place."""
    spec.setdefault("timeoutSeconds", d.revision_timeout_seconds)
    if d.revision_response_start_timeout_seconds:
        spec.setdefault("responseStartTimeoutSeconds", d.revision_response_start_timeout_seconds)
    if d.revision_idle_timeout_seconds:
        spec.setdefault("idleTimeoutSeconds", d.revision_idle_timeout_seconds)
    spec.setdefault("containerConcurrency", d.container_concurrency)
    if d.enable_service_links is not None:
        spec.setdefault("enableServiceLinks", d.enable_service_links)
    containers = spec.get("containers")
    if not isinstance(containers, list):
        return
    cs = [c for c in containers if isinstance(c, dict)]
    for i, c in enumerate(cs):
        if not c.get("name"):
            c["name"] = (d.container_name_template if len(cs) == 1
                         else f"{d.container_name_template}-{i}")
        _default_resources(c, d)
    idx = serving_container_index(cs)
    if idx is not None:
        _default_probe(cs[idx])
    inits = spec.get("initContainers")
    if isinstance(inits, list):
        for i, c in enumerate(x for x in inits if isinstance(x, dict)):
            if not c.get("name"):
                c["name"] = (d.init_container_name_template if len(inits) == 1
                             else f"{d.init_container_name_template}-{i}")


def set_revision_defaults(raw: dict[str, Any], d: Defaults | None = None) -> dict[str, Any]:
    out = copy.deepcopy(raw)
    spec = out.get("spec")
    if not isinstance(spec, dict):
        spec = out["spec"] = {}
    set_revision_spec_defaults(spec, d or Defaults())
    return out
