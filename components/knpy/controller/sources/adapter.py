"""What the per-source adapter Deployments look like: the ApiServerSource adapter
(`python -m knpy.sources apiserver`) and ContainerSource's user template. Pure builders."""

from __future__ import annotations

import copy
import json
from typing import Any

from knpy.apis.sources.v1 import ApiServerSource, ContainerSource
from knpy.controller.sources.children import SPEC_HASH_ANNOTATION
from knpy.runtime.k8s import owner_reference
from knpy.runtime.k8s.naming import child_name, spec_hash

__all__ = ["apiserver_deployment", "apiserver_source_config", "container_deployment",
           "container_sinkbinding"]

SOURCE_LABEL = "sources.knpy.dev/source"
SOURCE_NAME_LABEL = "sources.knpy.dev/source-name"


def apiserver_source_config(s: ApiServerSource, namespaces: list[str] | None = None
                            ) -> dict[str, Any]:
    """K_SOURCE_CONFIG: what the adapter watches and how it reports it. namespaces: those
    the namespaceSelector matched ([] with allNamespaces for an empty selector)."""
    sel = s.namespace_selector
    return {
        "namespaces": [s.namespace] if namespaces is None else namespaces,
        "allNamespaces": sel == {},
        "resources": [{"apiVersion": r.api_version, "kind": r.kind,
                       **({"selector": r.selector} if r.selector else {})}
                      for r in s.resources],
        "owner": s.owner,
        "mode": s.mode,
        "extensions": s.ce_overrides,
    }


def _with_hash(dep: dict[str, Any]) -> dict[str, Any]:
    dep["metadata"].setdefault("annotations", {})[SPEC_HASH_ANNOTATION] = spec_hash(
        dep["spec"])
    return dep


def apiserver_deployment(s: ApiServerSource, sink: str, image: str,
                         namespaces: list[str] | None = None) -> dict[str, Any]:
    labels = {SOURCE_LABEL: "apiserversource", SOURCE_NAME_LABEL: s.name}
    env = [{"name": "K_SINK", "value": sink},
           {"name": "K_SOURCE_CONFIG", "value": json.dumps(apiserver_source_config(s, namespaces),
                                                          sort_keys=True)},
           {"name": "NAMESPACE", "value": s.namespace},
           {"name": "NAME", "value": s.name}]
    return _with_hash({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": child_name(f"apiserversource-{s.name}", ""), "namespace": s.namespace,
                     "labels": dict(labels), "ownerReferences": [owner_reference(s.raw)]},
        "spec": {"replicas": 1, "selector": {"matchLabels": dict(labels)},
                 "template": {"metadata": {"labels": dict(labels)}, "spec": {
                     "serviceAccountName": s.service_account_name,
                     "containers": [{"name": "receive-adapter", "image": image,
                                     "args": ["apiserver"], "env": env}]}}}})


def container_deployment(s: ContainerSource) -> dict[str, Any]:
    tpl = copy.deepcopy(s.template)
    labels = {SOURCE_LABEL: "containersource", SOURCE_NAME_LABEL: s.name}
    md = tpl.setdefault("metadata", {})
    md["labels"] = {**(md.get("labels") or {}), **labels}
    return _with_hash({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": child_name(s.name, "-deployment"), "namespace": s.namespace,
                     "labels": dict(labels), "ownerReferences": [owner_reference(s.raw)]},
        "spec": {"replicas": 1, "selector": {"matchLabels": dict(labels)}, "template": tpl}})


def container_sinkbinding(s: ContainerSource, deployment_name: str) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "subject": {"apiVersion": "apps/v1", "kind": "Deployment",
                    "namespace": s.namespace, "name": deployment_name},
        "sink": copy.deepcopy(s.spec_raw.get("sink"))}
    if s.spec_raw.get("ceOverrides"):
        spec["ceOverrides"] = copy.deepcopy(s.spec_raw["ceOverrides"])
    return _with_hash({
        "apiVersion": "sources.knative.dev/v1", "kind": "SinkBinding",
        "metadata": {"name": child_name(s.name, "-sinkbinding"), "namespace": s.namespace,
                     "labels": {SOURCE_LABEL: "containersource", SOURCE_NAME_LABEL: s.name},
                     "ownerReferences": [owner_reference(s.raw)]},
        "spec": spec})
