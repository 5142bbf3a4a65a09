"""The broker's Prometheus metrics (docs/observability.md), on --metrics-port.

Ingress, per broker: events accepted (stored, 202) and rejected (by response code;
requests naming no known broker are counted with empty `namespace`/`broker`, so a client
cannot grow the label sets). Dispatcher, per trigger: events delivered, delivery attempts
retried, events dead-lettered and events dropped (retries exhausted, no dead-letter sink),
and a histogram of each send to the subscriber by response code class. A trigger's series
go when the trigger goes.
"""

from __future__ import annotations

from knpy.runtime.contract.eventing import CHANNEL, BrokerSpec, TriggerSpec
from knpy.runtime.observability.metrics import Registry, code_class

_BROKER = ("namespace", "broker")
_TRIGGER = ("namespace", "broker", "trigger")


class BrokerMetrics:
    def __init__(self) -> None:
        self.registry = reg = Registry()
        self.accepted = reg.counter("broker_events_accepted_total",
                                    "Events stored by the ingress (202)", _BROKER)
        self.rejected = reg.counter("broker_events_rejected_total",
                                    "Events the ingress refused, by response code",
                                    (*_BROKER, "response_code"))
        self.delivered = reg.counter("broker_events_delivered_total",
                                     "Events the subscriber accepted (2xx)", _TRIGGER)
        self.retried = reg.counter("broker_delivery_retries_total",
                                   "Failed deliveries to be attempted again", _TRIGGER)
        self.dead_lettered = reg.counter("broker_events_dead_lettered_total",
                                         "Events delivered to the dead-letter sink",
                                         _TRIGGER)
        self.dropped = reg.counter("broker_events_dropped_total",
                                   "Events given up on with no dead-letter sink to take them",
                                   _TRIGGER)
        self.dispatch = reg.histogram("broker_dispatch_duration_seconds",
                                      "Time of one send to a trigger's subscriber",
                                      (*_TRIGGER, "response_code_class"))

    def render(self) -> bytes:
        return self.registry.render()

    # ---------------------------------------------------------------- ingress
    def ingress_result(self, key: str | None, status: int) -> None:
        """`key` is the broker's namespace/name (a channel's channel/namespace/name) when it
        is known, else None. A channel is counted as broker `channel/<name>`."""
        ns, _, name = key.partition("/") if key is not None else ("", "", "")
        if ns == CHANNEL:
            ns, _, name = name.partition("/")
            name = f"{CHANNEL}/{name}"
        if status == 202:
            self.accepted.labels(ns, name).value += 1
        else:
            self.rejected.labels(ns, name, str(status)).value += 1

    # ---------------------------------------------------------------- dispatcher
    def trigger(self, broker: BrokerSpec, trigger: TriggerSpec) -> TriggerMetrics:
        return TriggerMetrics(self, (trigger.namespace, broker.name, trigger.name))

    def forget(self, tm: TriggerMetrics) -> None:
        for fam in (self.delivered, self.retried, self.dead_lettered, self.dropped):
            fam.remove(*tm.labels)
        for values in [v for v in self.dispatch.children if v[:3] == tm.labels]:
            self.dispatch.remove(*values)


class TriggerMetrics:
    """One trigger's children, looked up once."""

    def __init__(self, m: BrokerMetrics, labels: tuple[str, str, str]) -> None:
        self.m = m
        self.labels = labels
        self.delivered = m.delivered.labels(*labels)
        self.retried = m.retried.labels(*labels)
        self.dead_lettered = m.dead_lettered.labels(*labels)
        self.dropped = m.dropped.labels(*labels)

    def sent(self, status: int | None, seconds: float) -> None:
        """One send's duration; `status` None when no response came (counted as 5xx)."""
        self.m.dispatch.labels(*self.labels, code_class(status or 0)).observe(seconds)
