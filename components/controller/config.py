"""The controller's live config (ConfigMap `config-knpy-eventing`), parsed into a frozen value.

    ingress-host: broker-ingress.knpy-system.svc.cluster.local   # Broker address host
    cluster-domain: cluster.local          # for ref -> Kubernetes Service URLs
    resync-period: 5m                      # slow-lane resync of every object
    broker-classes: ""                     # comma-separated classes to reconcile; "" = all
    ingress-deployment: ""                 # if set, IngressReady waits for it to be available
    dispatcher-deployment: ""              # likewise for FilterReady
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from knpy.runtime.config import ConfigMapReader

__all__ = ["EVENTING_CONFIG", "EventingConfig", "parse_eventing_config"]

EVENTING_CONFIG = "config-knpy-eventing"


@dataclass(frozen=True, slots=True)
class EventingConfig:
    ingress_host: str = "broker-ingress.knpy-system.svc.cluster.local"
    cluster_domain: str = "cluster.local"
    resync_period: float = 300.0
    broker_classes: frozenset[str] = frozenset()
    ingress_deployment: str = ""
    dispatcher_deployment: str = ""

    def handles_class(self, cls: str) -> bool:
        return not self.broker_classes or cls in self.broker_classes


def parse_eventing_config(data: Mapping[str, str]) -> EventingConfig:
    d = EventingConfig()
    r = ConfigMapReader(EVENTING_CONFIG, data)
    classes = r.string("broker-classes", "")
    cfg = EventingConfig(
        ingress_host=r.string("ingress-host", d.ingress_host),
        cluster_domain=r.string("cluster-domain", d.cluster_domain),
        resync_period=r.duration("resync-period", d.resync_period, positive=True),
        broker_classes=frozenset(c.strip() for c in classes.split(",") if c.strip()),
        ingress_deployment=r.string("ingress-deployment", ""),
        dispatcher_deployment=r.string("dispatcher-deployment", ""),
    )
    r.raise_if_errors()
    return cfg
