"""The durable event store behind the broker: a small interface another engine can implement.

The broker needs exactly this from a store (JetStream today; Kafka would be next):
- `append`: make one record durable for a broker and return only once it is (or raise
  StoreUnavailable, which the ingress turns into 503); a second append with the same `key`
  within the store's deduplication window is confirmed without being stored again (a
  producer retrying after a lost 202, a reply re-ingested by a redelivery);
- one durable, independent cursor per trigger (`ensure_consumer`), from which the dispatcher
  `fetch`es records with explicit settlement: ack (done), nak(delay) (redeliver later), term
  (never again); a record neither acked nor nak'ed within `ack_wait` is redelivered;
- `attempt` on each fetched record: how many times it has been handed out (1 = first).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass


class StoreUnavailable(Exception):
    """The store could not confirm an operation (down, timeout, refused)."""


class EventTooLarge(Exception):
    """The record is larger than the store takes in one write (JetStream's max_payload):
    retrying cannot help, so the producer gets 413, not 503."""


@dataclass(frozen=True, slots=True)
class ConsumerSpec:
    """One trigger's durable cursor over its broker's records."""

    broker: str  # "namespace/name"
    trigger: str  # "namespace/name"
    ack_wait: float  # seconds before an unsettled record is handed out again
    max_deliver: int  # the store stops redelivering after this many hand-outs (-1: never)


class StoredRecord(ABC):
    """A record handed out by `fetch`; settle it exactly once."""

    __slots__ = ()

    data: bytes
    attempt: int

    @abstractmethod
    async def ack(self) -> None: ...

    @abstractmethod
    async def nak(self, delay: float = 0.0) -> None: ...

    @abstractmethod
    async def term(self) -> None: ...

    @abstractmethod
    async def extend(self) -> None:
        """Still working on it: restart the record's ack_wait (JetStream +WPI)."""


class EventStore(ABC):
    @abstractmethod
    async def start(self) -> None:
        """Connect; keeps reconnecting in the background if the store goes away."""

    async def ready(self) -> None:
        """Wait until the first connection is up (stores that need none return at once)."""
        return None

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def ensure_broker(self, broker: str) -> None:
        """Create the broker's log if missing (idempotent)."""

    @abstractmethod
    async def delete_broker(self, broker: str) -> None: ...

    @abstractmethod
    async def append(self, broker: str, record: bytes, key: str | None = None) -> None:
        """Durably append; returns once stored (or known stored under `key`), else raises
        StoreUnavailable, or EventTooLarge for a record larger than the store takes."""

    @abstractmethod
    async def ensure_consumer(self, spec: ConsumerSpec) -> None:
        """Create or update the trigger's durable cursor (new records only from creation)."""

    @abstractmethod
    async def delete_consumer(self, broker: str, trigger: str) -> None: ...

    async def compact(self, broker: str) -> None:
        """Drop records every trigger has settled (stores that do it themselves: no-op)."""
        return None

    @abstractmethod
    async def fetch(self, broker: str, trigger: str, batch: int,
                    wait: float) -> list[StoredRecord]:
        """Up to `batch` records, waiting at most `wait` s; [] if none arrived."""
