"""What the store must hold for a contract: streams for brokers, consumers for triggers.

Both roles apply it. The ingress does so before accepting events for a broker, so a
trigger's consumer exists before any event it should see is stored (an interest-retention
stream drops records nobody is subscribed to); the dispatcher then consumes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from knpy.broker import policy
from knpy.broker.settings import Settings
from knpy.broker.store import ConsumerSpec, EventStore
from knpy.runtime.contract.eventing import BrokerSpec, EventingContract, TriggerSpec
from knpy.runtime.eventfilter import EventFilter, FilterError, build

log = logging.getLogger("knpy.broker.topology")


@dataclass(frozen=True, slots=True)
class ActiveTrigger:
    broker: BrokerSpec
    trigger: TriggerSpec
    filter: EventFilter
    consumer: ConsumerSpec


def active_triggers(contract: EventingContract, settings: Settings) -> list[ActiveTrigger]:
    """Triggers whose broker exists and whose filters are valid (others are logged)."""
    out = []
    for t in contract.triggers:
        b = contract.broker(t.broker_key)
        if b is None:
            log.info("trigger %s waits for broker %s", t.key, t.broker_key)
            continue
        try:
            flt = build(t.filter_attributes, t.filters)
        except FilterError as e:
            log.error("trigger %s not active: invalid filter at %s: %s", t.key, e.field,
                      e.message)
            continue
        out.append(ActiveTrigger(b, t, flt, policy.consumer_spec(b, t, settings)))
    return out


async def ensure(store: EventStore, contract: EventingContract,
                 triggers: list[ActiveTrigger]) -> None:
    """Create streams and consumers (idempotent); raises StoreUnavailable."""
    for b in contract.brokers:
        await store.ensure_broker(b.key)
    for at in triggers:
        await store.ensure_consumer(at.consumer)
