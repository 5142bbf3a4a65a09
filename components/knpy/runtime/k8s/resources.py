"""Resource descriptors, object keys and small accessors for unstructured objects (dicts)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "CONFIGMAPS",
    "CRDS",
    "EVENTS",
    "LEASES",
    "MUTATING_WEBHOOKS",
    "SECRETS",
    "SERVICES",
    "VALIDATING_WEBHOOKS",
    "Resource",
    "key_of",
    "split_key",
]

Obj = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Resource:
    """Where a kind lives in the API: group ("" for core), version, plural, scope."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def base(self) -> str:
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    def path(self, namespace: str | None = None, name: str | None = None,
             subresource: str | None = None) -> str:
        p = self.base()
        if self.namespaced and namespace:
            p += f"/namespaces/{namespace}"
        p += f"/{self.plural}"
        if name:
            p += f"/{name}"
            if subresource:
                p += f"/{subresource}"
        return p

    def __str__(self) -> str:
        return f"{self.plural}.{self.group or 'core'}/{self.version}"


CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap")
SECRETS = Resource("", "v1", "secrets", "Secret")
SERVICES = Resource("", "v1", "services", "Service")
EVENTS = Resource("", "v1", "events", "Event")
LEASES = Resource("coordination.k8s.io", "v1", "leases", "Lease")
CRDS = Resource("apiextensions.k8s.io", "v1", "customresourcedefinitions",
                "CustomResourceDefinition", namespaced=False)
VALIDATING_WEBHOOKS = Resource("admissionregistration.k8s.io", "v1",
                               "validatingwebhookconfigurations",
                               "ValidatingWebhookConfiguration", namespaced=False)
MUTATING_WEBHOOKS = Resource("admissionregistration.k8s.io", "v1",
                             "mutatingwebhookconfigurations",
                             "MutatingWebhookConfiguration", namespaced=False)


def key_of(obj: Obj) -> str:
    """The work-queue key: "namespace/name", or "name" for cluster-scoped objects."""
    md = obj.get("metadata") or {}
    ns = md.get("namespace")
    return f"{ns}/{md['name']}" if ns else md["name"]


def split_key(key: str) -> tuple[str, str]:
    """"ns/name" -> ("ns", "name"); "name" -> ("", "name")."""
    ns, sep, name = key.partition("/")
    if not sep:
        return "", ns
    if not ns or not name or "/" in name:
        raise ValueError(f"malformed key {key!r}: want namespace/name")
    return ns, name


def resource_version(obj: Obj) -> str:
    return (obj.get("metadata") or {}).get("resourceVersion", "")
