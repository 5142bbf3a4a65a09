"""What a ServerlessService owns, built from it alone (pure; Knative's
pkg/reconciler/serverlessservice/resources):

- the private Service `<sks>-private`: selects the revision's pods; ports http 80 -> 8012
  (http2 81 -> 8013 for h2c), http-autometric 9090, http-usermetric 9091, http-queueadm 8022;
- the public Service `<sks>`: no selector, one port http 80 -> 8012 (http2 81 -> 8013);
- the public Endpoints `<sks>`: the addresses it gets from `public_subsets` (the pods' in
  Serve mode, the activator's in Proxy mode), on the public port's name.
"""

from __future__ import annotations

from typing import Any

from knpy.apis.networking.v1alpha1 import ServerlessService
from knpy.runtime.k8s import Resource, owner_reference
from knpy.runtime.k8s.naming import child_name

__all__ = ["ACTIVATOR_SERVICE", "ENDPOINTS", "PRIVATE", "PUBLIC", "SERVICE_TYPE_LABEL",
           "SERVING_PORT", "private_name", "private_service", "public_endpoints",
           "public_service", "public_subsets", "ready_count", "serving_port_name"]

ENDPOINTS = Resource("", "v1", "endpoints", "Endpoints")
SERVICE_TYPE_LABEL = "networking.internal.knative.dev/serviceType"
PRIVATE, PUBLIC = "Private", "Public"
REVISION_LABEL = "serving.knative.dev/revision"
ACTIVATOR_SERVICE = "activator-service"
# queue-proxy (and activator) ports: http1 and h2c
SERVING_PORT = {"http1": 8012, "h2c": 8013}
SERVICE_PORT = {"http1": 80, "h2c": 81}
METRICS_PORTS = (("http-autometric", 9090), ("http-usermetric", 9091), ("http-queueadm", 8022))

Obj = dict[str, Any]


def serving_port_name(protocol: str) -> str:
    return "http2" if protocol == "h2c" else "http"


def private_name(sks_name: str) -> str:
    """`<sks>-private`, shortened with a hash when the SKS name is long (a Service name is
    a DNS label: 63 characters)."""
    return child_name(sks_name, "-private")


def _meta(sks: ServerlessService, name: str, service_type: str) -> Obj:
    labels = {**sks.labels, SERVICE_TYPE_LABEL: service_type}
    return {"name": name, "namespace": sks.namespace, "labels": labels,
            "ownerReferences": [owner_reference(sks.raw)]}


def _serving_port(sks: ServerlessService) -> Obj:
    proto = sks.protocol_type
    return {"name": serving_port_name(proto), "protocol": "TCP",
            "port": SERVICE_PORT.get(proto, 80), "targetPort": SERVING_PORT.get(proto, 8012)}


def private_service(sks: ServerlessService) -> Obj:
    selector = {REVISION_LABEL: sks.labels.get(REVISION_LABEL) or sks.name}
    ports = [_serving_port(sks)] + [{"name": n, "protocol": "TCP", "port": p, "targetPort": p}
                                    for n, p in METRICS_PORTS]
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": _meta(sks, private_name(sks.name), PRIVATE),
            "spec": {"selector": selector, "ports": ports}}


def public_service(sks: ServerlessService) -> Obj:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": _meta(sks, sks.name, PUBLIC),
            "spec": {"ports": [_serving_port(sks)]}}


def ready_count(ep: Obj | None) -> int:
    return sum(len(s.get("addresses") or []) for s in (ep or {}).get("subsets") or [])


def public_subsets(src: Obj | None, protocol: str) -> list[Obj]:
    """The ready addresses of `src` on its serving port, named as the public port is (kube-
    proxy pairs Service and Endpoints ports by name). A subset without a port of that name
    uses the queue-proxy's/activator's fixed port."""
    name = serving_port_name(protocol)
    out = []
    for subset in (src or {}).get("subsets") or []:
        addrs = subset.get("addresses") or []
        if not addrs:
            continue
        port = next((p.get("port") for p in subset.get("ports") or [] if p.get("name") == name),
                    SERVING_PORT.get(protocol, 8012))
        out.append({"addresses": addrs,
                    "ports": [{"name": name, "port": port, "protocol": "TCP"}]})
    return out


def public_endpoints(sks: ServerlessService, subsets: list[Obj]) -> Obj:
    return {"apiVersion": "v1", "kind": "Endpoints",
            "metadata": _meta(sks, sks.name, PUBLIC), "subsets": subsets}
