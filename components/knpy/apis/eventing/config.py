"""Eventing's ConfigMaps, parsed into frozen values (the webhook validates them with the
same parsers the controller and webhook apply live).

`config-knpy-eventing` (the controller):

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

from knpy.apis.duck.delivery import BACKOFF_POLICIES
from knpy.apis.eventing.v1.register import DEFAULT_BROKER_CLASS
from knpy.runtime.config import ConfigMapReader

__all__ = ["BROKER_DEFAULTS_CONFIG", "EVENTING_CONFIG", "BrokerDefaults", "EventingConfig",
           "parse_broker_defaults", "parse_eventing_config"]

EVENTING_CONFIG = "config-knpy-eventing"
BROKER_DEFAULTS_CONFIG = "config-br-defaults"


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


@dataclass(frozen=True, slots=True)
class BrokerDefaults:
    """`config-br-defaults` (the webhook), flattened to keys:

        default-broker-class: MTChannelBasedBroker
        default-retry: "10"
        default-backoff-policy: exponential
        default-backoff-delay: PT0.2S
    """

    broker_class: str = DEFAULT_BROKER_CLASS
    retry: int = 10
    backoff_policy: str = "exponential"
    backoff_delay: str = "PT0.2S"

    def delivery(self) -> dict:
        return {"retry": self.retry, "backoffPolicy": self.backoff_policy,
                "backoffDelay": self.backoff_delay}


def parse_broker_defaults(data: Mapping[str, str]) -> BrokerDefaults:
    d = BrokerDefaults()
    r = ConfigMapReader(BROKER_DEFAULTS_CONFIG, data)
    cfg = BrokerDefaults(
        broker_class=r.string("default-broker-class", d.broker_class),
        retry=r.integer("default-retry", d.retry, minimum=0),
        backoff_policy=r.choice("default-backoff-policy", d.backoff_policy, BACKOFF_POLICIES),
        backoff_delay=r.iso_duration("default-backoff-delay", d.backoff_delay),
    )
    r.raise_if_errors()
    return cfg
