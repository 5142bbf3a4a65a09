"""A Service's Configuration and Route (Knative's service/resources MakeConfiguration and
MakeRoute): same name, owned by the Service, labelled with it, spec copied from it."""

from __future__ import annotations

import copy
from typing import Any

from knpy.apis.serving.v1 import Service
from knpy.apis.serving.v1.register import ROUTES_ANNOTATION, SERVICE_LABEL, SERVICE_UID_LABEL
from knpy.controller.serving.resources import LAST_APPLIED, SPEC_HASH_ANNOTATION
from knpy.runtime.k8s import owner_reference
from knpy.runtime.k8s.naming import spec_hash

__all__ = ["make_configuration", "make_route"]


def _meta(svc: Service, spec: dict[str, Any], extra_ann: dict[str, str]) -> dict[str, Any]:
    """The Service's labels and annotations, which replace the child's on each change
    (service.py syncs them with own_labels/own_annotations): the hash covers them too, so
    a label added to or removed from the Service alone reaches the child."""
    ann = {k: v for k, v in svc.annotations.items() if k != LAST_APPLIED}
    labels = {**svc.labels, SERVICE_LABEL: svc.name,
              SERVICE_UID_LABEL: svc.metadata.get("uid", "")}
    ann = {**ann, **extra_ann}
    digest = spec_hash({"spec": spec, "labels": labels, "annotations": ann})
    return {"name": svc.name, "namespace": svc.namespace, "labels": labels,
            "annotations": {**ann, SPEC_HASH_ANNOTATION: digest},
            "ownerReferences": [owner_reference(svc.raw)]}


def make_configuration(svc: Service) -> dict[str, Any]:
    spec = {"template": copy.deepcopy(svc.spec_raw.get("template") or {})}
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Configuration",
            "metadata": _meta(svc, spec, {ROUTES_ANNOTATION: svc.name}), "spec": spec}


def make_route(svc: Service) -> dict[str, Any]:
    traffic = copy.deepcopy(svc.traffic) or [{"percent": 100, "latestRevision": True}]
    for t in traffic:
        if not t.get("revisionName"):  # the Service's own Configuration
            t["configurationName"] = svc.name
    spec = {"traffic": traffic}
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Route",
            "metadata": _meta(svc, spec, {}), "spec": spec}
