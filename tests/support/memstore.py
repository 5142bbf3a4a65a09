"""An in-process EventStore for unit tests ONLY: nothing survives the process.

It implements the same settlement rules as JetStream (ack, nak with delay, term, ack_wait
redelivery, max_deliver, new-records-only consumers) so the dispatcher's logic can be
tested without a server. It lives in tests/support, so no image ships it.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from dataclasses import dataclass, field

from knpy.broker.store import ConsumerSpec, EventStore, StoredRecord, StoreUnavailable


@dataclass
class _Consumer:
    spec: ConsumerSpec
    ready: list[int] = field(default_factory=list)  # sequence numbers ready to hand out
    delayed: list[tuple[float, int]] = field(default_factory=list)  # (due, seq) heap
    inflight: dict[int, float] = field(default_factory=dict)  # seq -> ack deadline
    deliveries: dict[int, int] = field(default_factory=dict)  # seq -> times handed out
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)


class _MemRecord(StoredRecord):
    __slots__ = ("_c", "_seq", "_settled", "attempt", "data")

    def __init__(self, c: _Consumer, seq: int, data: bytes, attempt: int) -> None:
        self._c, self._seq, self.data, self.attempt = c, seq, data, attempt
        self._settled = False

    def _settle(self) -> bool:
        if self._settled or self._c.inflight.pop(self._seq, None) is None:
            return False
        self._settled = True
        return True

    async def ack(self) -> None:
        self._settle()

    async def term(self) -> None:
        self._settle()

    async def extend(self) -> None:
        if not self._settled and self._seq in self._c.inflight:
            self._c.inflight[self._seq] = time.monotonic() + self._c.spec.ack_wait

    async def nak(self, delay: float = 0.0) -> None:
        if self._settle():
            heapq.heappush(self._c.delayed, (time.monotonic() + delay, self._seq))
            self._c.wakeup.set()


class MemoryStore(EventStore):
    def __init__(self) -> None:
        self.log: dict[str, list[bytes]] = {}
        self.consumers: dict[tuple[str, str], _Consumer] = {}
        self.available = True  # tests flip this to simulate an outage
        self.keys: set[tuple[str, str]] = set()  # dedup keys, kept forever (tests are short)

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    def _check(self) -> None:
        if not self.available:
            raise StoreUnavailable("memory store switched off")

    async def ensure_broker(self, broker: str) -> None:
        self._check()
        self.log.setdefault(broker, [])

    async def delete_broker(self, broker: str) -> None:
        self.log.pop(broker, None)

    async def append(self, broker: str, record: bytes, key: str | None = None) -> None:
        self._check()
        if broker not in self.log:
            raise StoreUnavailable(f"no stream for {broker}")
        if key is not None:
            if (broker, key) in self.keys:
                return
            self.keys.add((broker, key))
        self.log[broker].append(record)
        seq = len(self.log[broker]) - 1
        for (b, _), c in self.consumers.items():
            if b == broker:
                c.ready.append(seq)
                c.wakeup.set()

    async def ensure_consumer(self, spec: ConsumerSpec) -> None:
        self._check()
        c = self.consumers.get((spec.broker, spec.trigger))
        if c is None:
            self.consumers[(spec.broker, spec.trigger)] = _Consumer(spec)
        else:
            c.spec = spec

    async def delete_consumer(self, broker: str, trigger: str) -> None:
        self.consumers.pop((broker, trigger), None)

    def _collect(self, c: _Consumer, now: float) -> None:
        for seq, deadline in list(c.inflight.items()):
            if deadline <= now:
                del c.inflight[seq]
                c.ready.append(seq)
        while c.delayed and c.delayed[0][0] <= now:
            c.ready.append(heapq.heappop(c.delayed)[1])

    async def fetch(self, broker: str, trigger: str, batch: int,
                    wait: float) -> list[StoredRecord]:
        self._check()
        c = self.consumers.get((broker, trigger))
        if c is None:
            raise StoreUnavailable(f"no consumer {trigger}")
        deadline = time.monotonic() + wait
        while True:
            now = time.monotonic()
            self._collect(c, now)
            out: list[StoredRecord] = []
            while c.ready and len(out) < batch:
                seq = c.ready.pop(0)
                n = c.deliveries.get(seq, 0) + 1
                if c.spec.max_deliver > 0 and n > c.spec.max_deliver:
                    continue
                c.deliveries[seq] = n
                c.inflight[seq] = now + c.spec.ack_wait
                out.append(_MemRecord(c, seq, self.log[broker][seq], n))
            if out or now >= deadline:
                return out
            c.wakeup.clear()
            nxt = min([deadline, *c.inflight.values(), *(d for d, _ in c.delayed[:1])])
            try:
                await asyncio.wait_for(c.wakeup.wait(), max(0.001, nxt - now))
            except TimeoutError:
                pass
