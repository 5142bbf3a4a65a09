"""What a DomainMapping owns (pure; Knative's domainmapping/resources):

- its ClusterDomainClaim `<domain>` (cluster-scoped, no owner: a namespaced object cannot
  own it) with spec.namespace = the DomainMapping's, when config-network
  `autocreate-cluster-domain-claims` is true;
- its KIngress `<domain>`: one ExternalIP rule for the domain, one path that rewrites Host
  to the target's host and sends 100% to the target's Service (the name in front of
  `.{ns}.svc.{cluster domain}`) at the resolved URL's port (80 when it names none), with
  `K-Original-Host: <domain>` appended.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from knpy.apis.networking.config_network import NetworkConfig
from knpy.apis.networking.v1alpha1.register import (
    API_VERSION as NETWORKING_API,
)
from knpy.apis.networking.v1alpha1.register import (
    INGRESS_CLASS_ANNOTATION,
    VISIBILITY_EXTERNAL,
)
from knpy.apis.serving.v1beta1 import DomainMapping
from knpy.apis.serving.v1beta1.register import (
    DOMAIN_MAPPING_NAMESPACE_LABEL,
    DOMAIN_MAPPING_UID_LABEL,
)
from knpy.controller.serving.resources import SPEC_HASH_ANNOTATION
from knpy.runtime.k8s import owner_reference
from knpy.runtime.k8s.naming import spec_hash

__all__ = ["ORIGINAL_HOST_HEADER", "Target", "make_claim", "make_ingress", "target_of"]

ORIGINAL_HOST_HEADER = "K-Original-Host"

Obj = dict[str, Any]
# (the Service name, its host, its port)
Target = tuple[str, str, int]


def target_of(url: str, namespace: str, cluster_domain: str) -> Target:
    """The in-cluster Service a resolved URL names; ValueError (Knative's messages) for a
    URL with a path or one that is not a Service of `namespace`."""
    u = urlsplit(url)
    if u.path not in ("", "/"):
        raise ValueError(f"resolved URI {url!r} contains a path")
    host = (u.hostname or "").lower()
    suffix = f".{namespace}.svc.{cluster_domain}"
    name = host[:-len(suffix)] if host.endswith(suffix) else ""
    if not name or "." in name:
        raise ValueError(f"resolved URI {url!r} must be of the form "
                         f"{{name}}.{{namespace}}.svc.{cluster_domain} in namespace "
                         f"{namespace!r}")
    return name, host, u.port or 80


def make_claim(dm: DomainMapping) -> Obj:
    return {"apiVersion": NETWORKING_API, "kind": "ClusterDomainClaim",
            "metadata": {"name": dm.name}, "spec": {"namespace": dm.namespace}}


def make_ingress(dm: DomainMapping, target: Target, network: NetworkConfig) -> Obj:
    service, host, port = target
    spec = {"httpOption": "Enabled", "rules": [{
        "hosts": [dm.name], "visibility": VISIBILITY_EXTERNAL,
        "http": {"paths": [{"rewriteHost": host, "splits": [{
            "serviceName": service, "serviceNamespace": dm.namespace, "servicePort": port,
            "percent": 100, "appendHeaders": {ORIGINAL_HOST_HEADER: dm.name}}]}]}}]}
    return {"apiVersion": NETWORKING_API, "kind": "Ingress",
            "metadata": {"name": dm.name, "namespace": dm.namespace,
                         "labels": {**dm.labels,
                                    DOMAIN_MAPPING_UID_LABEL: dm.metadata.get("uid", ""),
                                    DOMAIN_MAPPING_NAMESPACE_LABEL: dm.namespace},
                         "annotations": {INGRESS_CLASS_ANNOTATION: network.ingress_class,
                                         SPEC_HASH_ANNOTATION: spec_hash(spec)},
                         "ownerReferences": [owner_reference(dm.raw)]},
            "spec": spec}
