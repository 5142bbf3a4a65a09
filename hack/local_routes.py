"""The gateway's routing file for `make run-local` (`python -m knpy.ingress --config FILE`):
the Knative Service's host to the activator, and the broker and the event display by the
in-cluster hosts they have on a cluster, all on the gateway's one public port.

The Service's KIngress is the one the Route reconciler makes on a cluster
(`route_resources.make_ingress`: the same hosts and the same Knative-Serving-Revision/
-Namespace headers the activator routes by). Its split goes to the revision's public
Service at port 80, which on a cluster leads to the activator while the revision has no
pods; here that Service is an ExternalName to 127.0.0.1 and the split's port is the
activator's, so every request goes through the activator (which forwards to the pods).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from knpy.apis.networking.config_network import NetworkConfig
from knpy.apis.networking.v1alpha1.register import VISIBILITY_EXTERNAL
from knpy.apis.serving.config_domain import DomainConfig
from knpy.apis.serving.v1 import Route
from knpy.controller.serving.route_resources import Hosts, hosts_of, make_ingress
from knpy.controller.serving.route_traffic import Target

__all__ = ["BROKER_HOST", "SINK_HOST", "Ports", "check_name", "revision_of", "routes",
           "service_host", "write_routes"]

Obj = dict[str, Any]

CLUSTER_DOMAIN = "cluster.local"
NETWORKING_API = "networking.internal.knative.dev/v1alpha1"
# What the Broker's status.address.url and the display's Service are called on a cluster
BROKER_HOST = f"broker-ingress.knpy-system.svc.{CLUSTER_DOMAIN}"
SINK_HOST = f"event-display.default.svc.{CLUSTER_DOMAIN}"
# A DNS-1035 label short enough that `<name>-00001` still is one (63 characters)
_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,55}[a-z0-9])?$")


@dataclass(frozen=True, slots=True)
class Ports:
    activator: int
    broker: int
    sink: int


def check_name(name: str) -> str | None:
    """Why `name` cannot be a Knative Service's name here, or None."""
    if _NAME.match(name):
        return None
    return (f"{name!r}: a Knative Service name is lower-case letters, digits and '-', "
            "starting with a letter, at most 57 characters")


def revision_of(name: str) -> str:
    """The first Revision's name, as Knative names it."""
    return f"{name}-00001"


def _external_name(name: str, namespace: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"type": "ExternalName", "externalName": "127.0.0.1"}}


def _kingress(name: str, namespace: str, host: str, port: int) -> Obj:
    """One external host to Service `name` at `port`."""
    split = {"serviceName": name, "serviceNamespace": namespace, "servicePort": port,
             "percent": 100}
    return {"apiVersion": NETWORKING_API, "kind": "Ingress",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"rules": [{"hosts": [host], "visibility": VISIBILITY_EXTERNAL,
                                "http": {"paths": [{"splits": [split]}]}}]}}


def _hosts(route: Route) -> Hosts:
    return hosts_of(route, [], NetworkConfig(), DomainConfig(), CLUSTER_DOMAIN)


def service_host(name: str, namespace: str) -> str:
    """The Knative Service's external host with Knative's default config (example.com)."""
    return _hosts(_route(name, namespace)).external[""]


def _route(name: str, namespace: str) -> Route:
    revision = revision_of(name)
    return Route({"apiVersion": "serving.knative.dev/v1", "kind": "Route",
                  "metadata": {"name": name, "namespace": namespace, "uid": "run-local"},
                  "spec": {"traffic": [{"revisionName": revision, "percent": 100}]}})


def routes(name: str, namespace: str, ports: Ports) -> list[Obj]:
    """The gateway's config: KIngresses and the Services their splits go to."""
    route, revision = _route(name, namespace), revision_of(name)
    ksvc = make_ingress(route, _hosts(route), [Target(revision, 100)], NetworkConfig(),
                        CLUSTER_DOMAIN)
    for rule in ksvc["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            for split in path["splits"]:
                split["servicePort"] = ports.activator
    return [ksvc, _external_name(revision, namespace),
            _kingress("broker-ingress", "knpy-system", BROKER_HOST, ports.broker),
            _external_name("broker-ingress", "knpy-system"),
            _kingress("event-display", "default", SINK_HOST, ports.sink),
            _external_name("event-display", "default")]


class _NoAliases(yaml.SafeDumper):
    """The file spelled out for people reading it (make_ingress shares one paths list
    between the rules of a host set)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def write_routes(path: Path, name: str, namespace: str, ports: Ports) -> None:
    """`routes` as the gateway's `--config` file."""
    path.write_text(yaml.dump_all(routes(name, namespace, ports), Dumper=_NoAliases,
                                  sort_keys=False))
