"""Delivery rules as pure functions: retry classification, backoff, Retry-After, and the
store settings (ack wait, max deliver) a trigger's delivery spec implies."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from knpy.broker.settings import Settings
from knpy.broker.store import ConsumerSpec
from knpy.runtime.contract.eventing import (
    BrokerSpec,
    EffectiveDelivery,
    TriggerSpec,
    effective_delivery,
)

# Knative's retry classification (eventing's message_sender): these 4xx are transient.
RETRYABLE_4XX = frozenset({404, 408, 409, 429})


def is_retryable(status: int | None) -> bool:
    """None means no response (connection error or timeout): retry."""
    if status is None:
        return True
    return status in RETRYABLE_4XX or 500 <= status <= 599


def backoff(d: EffectiveDelivery, retry_number: int, cap: float) -> float:
    """Delay before retry `retry_number` (1-based): linear delay*n, exponential
    delay*2^(n-1); never more than `cap`."""
    n = max(1, retry_number)
    if d.backoff_policy == "linear":
        delay = d.backoff_delay * n
    else:
        delay = d.backoff_delay * (2.0 ** min(n - 1, 62))
    return min(delay, cap)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as delta-seconds or an HTTP-date; None if absent or unparseable."""
    if not value:
        return None
    v = value.strip()
    if v.isdigit():
        return float(v)
    try:
        when = parsedate_to_datetime(v)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def retry_delay(d: EffectiveDelivery, retry_number: int, status: int | None,
                retry_after: str | None, settings: Settings) -> float:
    """Backoff, or Retry-After (on 429/503) when longer, capped at retryAfterMax."""
    delay = backoff(d, retry_number, settings.backoff_cap)
    if status in (429, 503):
        ra = parse_retry_after(retry_after)
        if ra is not None:
            cap = d.retry_after_max if d.retry_after_max is not None else settings.retry_after_max
            delay = max(delay, min(ra, cap))
    return delay


def timeout_of(d: EffectiveDelivery, settings: Settings) -> float:
    return d.timeout if d.timeout is not None else settings.delivery_timeout


def consumer_spec(broker: BrokerSpec, trigger: TriggerSpec, settings: Settings) -> ConsumerSpec:
    """Ack wait covers one subscriber request plus one dead-letter request plus slack;
    max deliver is 1 + retry plus a few redeliveries for crashes and DLS failures."""
    d = effective_delivery(broker, trigger)
    t = timeout_of(d, settings)
    return ConsumerSpec(broker=broker.key, trigger=trigger.key, ack_wait=2 * t + 5.0,
                        max_deliver=d.attempts + settings.max_deliver_slack)
