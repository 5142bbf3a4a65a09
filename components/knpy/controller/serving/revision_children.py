"""A Revision's PodAutoscaler and ServerlessService, both named after the Revision and owned
by it (Knative's revision/resources MakePA and kpa/resources MakeSKS). Their reconcilers
(the autoscaler's KPA, the SKS reconciler) own them from then on."""

from __future__ import annotations

import math
from typing import Any

from knpy.apis.autoscaling.annotations import parse_annotations
from knpy.apis.autoscaling.config import AutoscalerConfig
from knpy.apis.autoscaling.v1alpha1.register import REACHABLE, UNREACHABLE
from knpy.apis.networking.v1alpha1.register import MODE_PROXY, MODE_SERVE
from knpy.apis.serving.v1 import Revision
from knpy.apis.serving.v1.register import ROUTING_STATE_LABEL
from knpy.controller.serving.deployment import (
    deployment_name,
    revision_annotations,
    revision_labels,
)
from knpy.controller.serving.resources import SPEC_HASH_ANNOTATION
from knpy.runtime.config import FieldError
from knpy.runtime.k8s import owner_reference
from knpy.runtime.k8s.naming import spec_hash

__all__ = ["MIN_ACTIVATORS", "make_podautoscaler", "make_sks", "reachability"]

MIN_ACTIVATORS = 2


def reachability(rev: Revision, deployment_failed: bool = False) -> str:
    """From the routing state the route labeler sets: active -> Reachable, reserve ->
    Unreachable, pending / unset -> unknown (""). A Deployment that failed to progress is
    Unreachable, so the autoscaler may scale it away."""
    if deployment_failed:
        return UNREACHABLE
    return {"active": REACHABLE, "reserve": UNREACHABLE}.get(
        rev.labels.get(ROUTING_STATE_LABEL, ""), "")


def _meta(rev: Revision, spec: dict[str, Any], *, hash_annotations: bool = False
          ) -> dict[str, Any]:
    """hash_annotations: the Revision's annotations count as the child's spec (the PA's
    autoscaling settings are its annotations, and a Revision's may change)."""
    annotations = revision_annotations(rev)
    hashed = {"spec": spec, "annotations": annotations} if hash_annotations else spec
    return {"name": rev.name, "namespace": rev.namespace, "labels": revision_labels(rev),
            "annotations": {**annotations, SPEC_HASH_ANNOTATION: spec_hash(hashed)},
            "ownerReferences": [owner_reference(rev.raw)]}


def make_podautoscaler(rev: Revision, deployment_failed: bool = False) -> dict[str, Any]:
    spec = {"containerConcurrency": rev.spec.container_concurrency,
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                               "name": deployment_name(rev.name)},
            "protocolType": rev.spec.port_name,
            "reachability": reachability(rev, deployment_failed)}
    return {"apiVersion": "autoscaling.internal.knative.dev/v1alpha1", "kind": "PodAutoscaler",
            "metadata": _meta(rev, spec, hash_annotations=True), "spec": spec}


def _burst_capacity(rev: Revision, cfg: AutoscalerConfig) -> float:
    try:
        tbc = parse_annotations(cfg, rev.annotations).target_burst_capacity
    except FieldError:
        tbc = None
    return cfg.target_burst_capacity if tbc is None else tbc


def make_sks(rev: Revision, cfg: AutoscalerConfig) -> dict[str, Any]:
    """Knative's KPA starts with no ready pods, so the excess burst capacity is negative
    and the activator is in the path (Proxy), unless target-burst-capacity is 0 (the
    activator only while at zero: Serve). numActivators covers the burst capacity
    (ceil(TBC / activator-capacity), at least 2; 0 = all activators when TBC is -1)."""
    tbc = _burst_capacity(rev, cfg)
    mode = MODE_SERVE if tbc == 0 else MODE_PROXY
    n = 0 if tbc < 0 else max(MIN_ACTIVATORS, math.ceil(tbc / cfg.activator_capacity))
    spec = {"mode": mode, "numActivators": n, "protocolType": rev.spec.port_name,
            "objectRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                          "name": deployment_name(rev.name)}}
    return {"apiVersion": "networking.internal.knative.dev/v1alpha1",
            "kind": "ServerlessService", "metadata": _meta(rev, spec), "spec": spec}
