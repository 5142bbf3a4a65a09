"""What a Route owns and reports, built from it and its resolved targets (pure; Knative's
route/resources and route/domains):

- hosts: `{name}.{ns}.{domain}` from config-network's domain-template and config-domain
  (a cluster-local Route: `{name}.{ns}.svc.{cluster domain}` only); a tag's name is
  `{tag}-{name}` (tag-template) in the same template;
- the KIngress `<route>`: per name (the Route's own, then each tag) an ExternalIP rule with
  the external host (not for a cluster-local Route) and a ClusterLocal rule with
  `{n}.{ns}`, `{n}.{ns}.svc` and `{n}.{ns}.svc.{cluster domain}`; its splits go to each
  Revision's public Service (SKS, name = revision, port 80), one split per Revision, with
  Knative-Serving-Revision/-Namespace appended for the activator; with config-features
  `tag-header-based-routing: Enabled`, the Route's own rules first get one path per tag
  matching `Knative-Serving-Tag: <tag>` (to that tag's Revision), their catch-all path
  appends `Knative-Serving-Default-Route: true`, and a tag's rules append its
  `Knative-Serving-Tag` (Knative's shape, so the Revision sees the same either way);
- the placeholder Service `<n>` per name: ExternalName to the gateway's private load
  balancer, so `{n}.{ns}.svc.{cluster domain}` resolves to the gateway in the cluster;
- status.traffic: each spec target with its Revision, and a tag's URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from knpy.apis.networking.config_network import (
    DEFAULT_DOMAIN_TEMPLATE,
    NetworkConfig,
    render_template,
)
from knpy.apis.networking.v1alpha1.register import (
    API_VERSION as NETWORKING_API,
)
from knpy.apis.networking.v1alpha1.register import (
    INGRESS_CLASS_ANNOTATION,
    VISIBILITY_CLUSTER_LOCAL,
    VISIBILITY_EXTERNAL,
)
from knpy.apis.serving.config_domain import DomainConfig
from knpy.apis.serving.v1 import Route
from knpy.apis.serving.v1.register import ROUTE_LABEL
from knpy.controller.serving.resources import LAST_APPLIED, SPEC_HASH_ANNOTATION
from knpy.controller.serving.route_traffic import Target
from knpy.runtime.k8s import owner_reference
from knpy.runtime.k8s.naming import spec_hash

__all__ = ["REVISION_HEADER", "TAG_HEADER", "TAG_HEADER_ROUTING", "Hosts", "hosts_of",
           "make_ingress", "make_placeholder", "status_traffic"]

NAMESPACE_HEADER = "Knative-Serving-Namespace"
TAG_HEADER = "Knative-Serving-Tag"
TAG_HEADER_ROUTING = "tag-header-based-routing"  # the config-features flag
DEFAULT_ROUTE_HEADER = "Knative-Serving-Default-Route"
REVISION_HEADER = "Knative-Serving-Revision"
ROUTE_NAMESPACE_LABEL = "serving.knative.dev/routeNamespace"
SERVICE_PORT = 80  # the public Service's http port (sks_resources)

Obj = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Hosts:
    """A Route's host names: name ("" = the Route's own, else a tag) -> host."""

    external: dict[str, str]  # empty for a cluster-local Route
    local: dict[str, str]  # `{n}.{ns}.svc.{cluster domain}`
    names: dict[str, str]  # `{n}`: the placeholder Service of each
    scheme: str = "http"  # of external URLs: config-network default-external-scheme

    def url(self, tag: str = "") -> str:
        if tag in self.external:
            return f"{self.scheme}://{self.external[tag]}"
        return f"http://{self.local[tag]}"


def hosts_of(route: Route, tags: list[str], network: NetworkConfig, domains: DomainConfig,
             cluster_domain: str) -> Hosts:
    """Raises ValueError when a template renders no valid host (config says why)."""
    external, local, names = {}, {}, {}
    local_domain = f"svc.{cluster_domain}"
    for tag in ["", *tags]:
        name = route.name if not tag else render_template(
            network.tag_template, {"Tag": tag, "Name": route.name})
        names[tag] = name
        local[tag] = render_template(DEFAULT_DOMAIN_TEMPLATE, {
            "Name": name, "Namespace": route.namespace, "Domain": local_domain})
        if not route.cluster_local:
            external[tag] = render_template(
                network.domain_template, {"Name": name, "Namespace": route.namespace,
                                          "Domain": domains.lookup(route.labels)},
                route.annotations, route.labels)
    return Hosts(external, local, names, network.default_external_scheme)


def _split(route: Route, rev: str, percent: int) -> Obj:
    return {"serviceName": rev, "serviceNamespace": route.namespace,
            "servicePort": SERVICE_PORT, "percent": percent,
            "appendHeaders": {REVISION_HEADER: rev, NAMESPACE_HEADER: route.namespace}}


def _splits(route: Route, targets: list[Target]) -> list[Obj]:
    """One split per Revision (percents summed), in first-seen order, none at 0%."""
    totals: dict[str, int] = {}
    for t in targets:
        totals[t.revision] = totals.get(t.revision, 0) + (t.percent or 0)
    return [_split(route, rev, pct) for rev, pct in totals.items() if pct > 0]


def _rules(route: Route, hosts: Hosts, tag: str, paths: list[Obj],
           cluster_domain: str) -> list[Obj]:
    n, ns = hosts.names[tag], route.namespace
    out = []
    if tag in hosts.external:
        out.append({"hosts": [hosts.external[tag]], "visibility": VISIBILITY_EXTERNAL,
                    "http": {"paths": paths}})
    out.append({"hosts": [f"{n}.{ns}", f"{n}.{ns}.svc", f"{n}.{ns}.svc.{cluster_domain}"],
                "visibility": VISIBILITY_CLUSTER_LOCAL, "http": {"paths": paths}})
    return out


def _labels(route: Route) -> dict[str, str]:
    return {ROUTE_LABEL: route.name, ROUTE_NAMESPACE_LABEL: route.namespace}


def make_ingress(route: Route, hosts: Hosts, targets: list[Target], network: NetworkConfig,
                 cluster_domain: str, tag_header: bool = False) -> Obj:
    """`tag_header`: config-features tag-header-based-routing is Enabled."""
    tagged = [t for t in targets if t.tag]
    main: Obj = {"splits": _splits(route, targets)}
    paths = [main]
    if tag_header:
        main["appendHeaders"] = {DEFAULT_ROUTE_HEADER: "true"}
        paths = [{"headers": {TAG_HEADER: {"exact": t.tag}},
                  "splits": [_split(route, t.revision, 100)]} for t in tagged] + paths
    rules = _rules(route, hosts, "", paths, cluster_domain)
    for t in tagged:
        path: Obj = {"splits": [_split(route, t.revision, 100)]}
        if tag_header:
            path["appendHeaders"] = {TAG_HEADER: t.tag}
        rules += _rules(route, hosts, t.tag, [path], cluster_domain)
    spec = {"httpOption": "Enabled", "rules": rules}
    return {"apiVersion": NETWORKING_API, "kind": "Ingress",
            "metadata": {"name": route.name, "namespace": route.namespace,
                         "labels": _labels(route),
                         "annotations": {INGRESS_CLASS_ANNOTATION: network.ingress_class,
                                         SPEC_HASH_ANNOTATION: spec_hash(spec)},
                         "ownerReferences": [owner_reference(route.raw)]},
            "spec": spec}


def make_placeholder(route: Route, name: str, gateway_host: str) -> Obj:
    """Knative's MakeK8sPlaceholderService: the Route's labels and annotations (so the
    Service's own, e.g. serving.knative.dev/service and creator, are seen there too)."""
    ann = {k: v for k, v in route.annotations.items() if k != LAST_APPLIED}
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": route.namespace,
                         "labels": {**route.labels, **_labels(route)},
                         "annotations": ann,
                         "ownerReferences": [owner_reference(route.raw)]},
            "spec": {"type": "ExternalName", "externalName": gateway_host,
                     "sessionAffinity": "None",
                     "ports": [{"name": "http2", "port": 80, "protocol": "TCP",
                                "targetPort": 80}]}}


def status_traffic(targets: list[Target], hosts: Hosts) -> list[Obj]:
    out = []
    for t in targets:
        entry: Obj = {"revisionName": t.revision, "latestRevision": t.latest}
        if t.percent is not None:
            entry["percent"] = t.percent
        if t.tag:
            entry["tag"] = t.tag
            entry["url"] = hosts.url(t.tag)
        out.append(entry)
    return out
