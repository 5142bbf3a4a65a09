"""Filter/dispatcher: one worker per trigger pulls its durable consumer, filters, delivers.

Per record: no match -> ack. Match -> POST to the subscriber. Success -> the reply (if
any) is appended to the same broker, then ack. Retryable failure with attempts left ->
nak(backoff or Retry-After): the store redelivers it later (so retries survive a crash).
Otherwise -> dead-letter sink (then ack), or term if there is none. A crash before the
settlement means the store hands the record out again after ack_wait: at-least-once.

A channel's subscription is a trigger that matches everything; its subscriber's reply is
POSTed to the subscription's reply URI (dropped without one), and a failure there counts
like the subscriber's: retried (the whole delivery, at-least-once), then dead-lettered
with `knativeerrordest` naming the reply URI.

`ordering: partitionkey` triggers deliver the records of one `partitionkey` one at a
time in stream order (different keys in parallel): a retry then waits in process (the
record's ack_wait kept alive with extend()) instead of a nak, so later records of the key
cannot overtake it.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import logging
from typing import Any

from knpy.broker import admission, policy, record
from knpy.broker.metrics import BrokerMetrics, TriggerMetrics
from knpy.broker.sender import Outcome, Sender
from knpy.broker.settings import Settings
from knpy.broker.store import EventStore, EventTooLarge, StoredRecord, StoreUnavailable
from knpy.broker.topology import ActiveTrigger
from knpy.runtime import cloudevents as ce
from knpy.runtime.contract.eventing import SUBSCRIPTION, effective_delivery

log = logging.getLogger("knpy.broker.dispatcher")

ERROR_DATA_MAX = 1024
FETCH_MAX = 256
_DONE = Outcome(True, 200)


def dead_letter_event(event: ce.CloudEvent, subscriber: str, out: Outcome) -> ce.CloudEvent:
    """The original event plus knativeerrordest/-code/-data (code and data only when the
    subscriber answered; data is base64 of at most the first 1024 body bytes)."""
    ext: dict[str, ce.event.AttrValue] = {"knativeerrordest": subscriber}
    if out.status is not None:
        ext["knativeerrorcode"] = str(out.status)
        if out.body:
            ext["knativeerrordata"] = base64.b64encode(out.body[:ERROR_DATA_MAX]).decode()
    return event.replace(ext)


class TriggerWorker:
    def __init__(self, store: EventStore, sender: Sender, settings: Settings,
                 active: ActiveTrigger, metrics: TriggerMetrics,
                 tracer: Any | None = None) -> None:
        self.store, self.sender, self.settings = store, sender, settings
        self.metrics = metrics
        self.tracer: Any = tracer  # a broker.oteltracer.BrokerTracer; None: tracing off
        self.inflight: set[asyncio.Task[None]] = set()
        self.lanes: dict[str, collections.deque[StoredRecord]] = {}  # ordered mode
        self.held = 0  # records taken from the store and not yet settled (ordered mode)
        self._slot = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.update(active)

    def update(self, active: ActiveTrigger) -> None:
        """New spec for the next records; deliveries in flight finish with the old one."""
        self.active = active
        self.delivery = effective_delivery(active.broker, active.trigger)
        self.timeout = policy.timeout_of(self.delivery, self.settings)
        self.limit = active.trigger.concurrency or self.settings.concurrency
        self.ordered = active.trigger.ordering == "partitionkey"
        self.ack_wait = active.consumer.ack_wait

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"trigger {self.active.trigger.key}")

    async def stop(self, grace: float = 0.0) -> None:
        """Stop fetching; let deliveries in flight finish and settle for up to `grace` s
        (each one cut off would reach its subscriber again after ack_wait), then cancel."""
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if grace > 0 and self.inflight:
            await asyncio.wait(list(self.inflight), timeout=grace)
        for t in list(self.inflight):
            t.cancel()  # unsettled records are redelivered by the store
        await asyncio.gather(*self.inflight, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            a = self.active
            free = self.limit - (self.held if self.ordered else len(self.inflight))
            if free <= 0:
                self._slot.clear()
                await self._slot.wait()
                continue
            try:
                recs = await self.store.fetch(a.broker.key, a.trigger.key,
                                              min(free, FETCH_MAX), 1.0)
            except StoreUnavailable as e:
                log.warning("fetch for %s failed: %s", a.trigger.key, e)
                await asyncio.sleep(0.5)
                continue
            except Exception:  # never let one bad fetch end the trigger's worker
                log.exception("fetch for %s crashed", a.trigger.key)
                await asyncio.sleep(0.5)
                continue
            for rec in recs:
                if self.ordered:
                    self._enqueue_ordered(rec)
                    continue
                task = asyncio.create_task(self._handle(rec))
                self.inflight.add(task)
                task.add_done_callback(self._done)

    def _enqueue_ordered(self, rec: StoredRecord) -> None:
        try:
            key = str(record.decode(rec.data)[0].attributes.get("partitionkey", ""))
        except (ValueError, KeyError):
            key = ""
        self.held += 1
        lane = self.lanes.get(key)
        if lane is not None:
            lane.append(rec)
            return
        self.lanes[key] = collections.deque([rec])
        task = asyncio.create_task(self._drain(key))
        self.inflight.add(task)
        task.add_done_callback(self._done)

    async def _drain(self, key: str) -> None:
        """Deliver one key's records one after another."""
        lane = self.lanes[key]
        try:
            while lane:
                rec = lane[0]
                await self._handle(rec)
                lane.popleft()
                self.held -= 1
                self._slot.set()
        finally:
            self.held -= len(lane)
            del self.lanes[key]

    async def _wait_in_progress(self, rec: StoredRecord, delay: float) -> None:
        """Sleep `delay` while telling the store the record is still being worked on."""
        step = max(0.5, self.ack_wait / 3)
        while delay > 0:
            await rec.extend()
            await asyncio.sleep(min(step, delay))
            delay -= step
        await rec.extend()

    def _done(self, task: asyncio.Task[None]) -> None:
        self.inflight.discard(task)
        self._slot.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("delivery crashed", exc_info=task.exception())

    async def _handle(self, rec: StoredRecord) -> None:
        a = self.active
        try:
            event, headers = record.decode(rec.data)
        except (ValueError, KeyError) as e:
            log.error("undecodable record dropped: %s", e)
            await rec.term()
            return
        if not a.filter.matches(event.attributes):
            await rec.ack()
            return
        t = self.tracer
        if t is None:
            await self._deliver(rec, event, headers, None)
            return
        span = t.process(a.broker.key, a.trigger.key, event, headers, rec.attempt)
        outcome = "crashed"
        try:
            outcome = await self._deliver(rec, event, headers, span)
        finally:
            t.processed(span, outcome)

    async def _send(self, span: Any, url: str, event: ce.CloudEvent,
                    extra: list[tuple[str, str]], structured: bool) -> Outcome:
        """One POST; traced as a CLIENT span under `span` (the record's process span)."""
        if span is None:
            return await self.sender.send(url, event, extra, self.timeout,
                                          structured=structured)
        client, extra = self.tracer.deliver(span, url, extra)
        try:
            out = await self.sender.send(url, event, extra, self.timeout, structured=structured)
        except BaseException:  # cancelled (shutdown): the span still ends
            self.tracer.delivered(client, None, "cancelled")
            raise
        self.tracer.delivered(client, out.status, out.error)
        return out

    async def _deliver(self, rec: StoredRecord, event: ce.CloudEvent,
                       headers: list[tuple[str, str]], span: Any) -> str:
        """Deliver a matching record and settle it; "" when delivered, else what happened
        instead (for the process span)."""
        a, d = self.active, self.delivery
        ttl = event.attributes.get(admission.TTL)
        out_event = event.replace(remove=(admission.TTL,))
        extra = [("Prefer", "reply"), ("Kn-Namespace", a.trigger.namespace), *headers]
        structured = d.format == "json"
        attempt = rec.attempt
        m = self.metrics
        clock = asyncio.get_running_loop().time
        while True:
            t0 = clock()
            dest = a.trigger.subscriber
            out = await self._send(span, dest, out_event, extra, structured)
            m.sent(out.status, clock() - t0)
            reply = out.reply if out.ok else None
            if reply is not None and a.trigger.kind == SUBSCRIPTION:
                if a.trigger.reply is None:
                    out = _DONE  # Knative drops a reply nobody asked for
                else:
                    dest = a.trigger.reply
                    out = await self._send(span, dest, reply, extra[1:], structured)
            if out.ok:
                m.delivered.value += 1
                if out.reply is not None and a.trigger.kind != SUBSCRIPTION and \
                        not await self._reingest(out.reply, ttl, headers, span):
                    await rec.nak(policy.backoff(d, attempt, self.settings.backoff_cap))
                    return "reply not stored"
                await rec.ack()
                return ""
            if not (policy.is_retryable(out.status) and attempt < d.attempts):
                break
            m.retried.value += 1
            delay = policy.retry_delay(d, attempt, out.status, out.retry_after, self.settings)
            if not self.ordered:
                await rec.nak(delay)
                return "retry"
            await self._wait_in_progress(rec, delay)
            attempt += 1
        log.info("trigger %s gave up on %s after %d attempt(s): status %s %s", a.trigger.key,
                 event.id, attempt, out.status, out.error)
        if not d.dead_letter_sink:
            m.dropped.value += 1
            await rec.term()
            return "dropped"
        dls = dead_letter_event(out_event, dest, out)
        # Kn-Namespace as on subscriber deliveries (Knative sends it to the DLS too)
        dout = await self._send(span, d.dead_letter_sink, dls,
                                [("Kn-Namespace", a.trigger.namespace), *headers], structured)
        if dout.ok:
            m.dead_lettered.value += 1
            await rec.ack()
            return "dead-lettered"
        log.warning("dead-letter sink failed for %s: %s %s", event.id, dout.status, dout.error)
        await rec.nak(policy.backoff(d, attempt, self.settings.backoff_cap))
        return "dead-letter sink failed"

    async def _reingest(self, reply: ce.CloudEvent, ttl: object,
                        headers: list[tuple[str, str]], span: Any = None) -> bool:
        """Append a reply to the same broker with the TTL put back and decremented; False
        if the store is unavailable (the delivery is then retried, never the reply lost)."""
        if ttl is not None:
            reply = reply.replace({admission.TTL: str(ttl)})
        try:
            admitted = admission.admit(reply)
        except ce.CloudEventError as e:
            log.info("reply %s dropped: %s", reply.id, e)
            return True
        broker = self.active.broker.key
        if span is None:
            return await self._append(broker, admitted, headers)
        # the reply's record carries a PRODUCER span's context, child of this delivery's
        producer, headers = self.tracer.send(broker, admitted, headers, span)
        try:
            ok = await self._append(broker, admitted, headers)
        except BaseException:
            self.tracer.stored(producer, "cancelled")
            raise
        self.tracer.stored(producer, "" if ok else "store unavailable")
        return ok

    async def _append(self, broker: str, event: ce.CloudEvent,
                      headers: list[tuple[str, str]]) -> bool:
        try:
            await self.store.append(broker, record.encode(event, headers),
                                    record.identity(event))
        except EventTooLarge as e:  # storing it again cannot succeed: like an invalid reply
            log.info("reply %s dropped: %s", event.id, e)
            return True
        except StoreUnavailable as e:
            log.warning("reply not stored: %s", e)
            return False
        return True


class Dispatcher:
    """Keeps one TriggerWorker per active trigger, following contract changes."""

    def __init__(self, store: EventStore, sender: Sender, settings: Settings,
                 metrics: BrokerMetrics | None = None, tracer: Any | None = None) -> None:
        self.store, self.sender, self.settings = store, sender, settings
        self.metrics = metrics or BrokerMetrics()
        self.tracer = tracer
        self.workers: dict[str, TriggerWorker] = {}
        self._compactor = asyncio.create_task(self._compact_forever())

    async def _compact_forever(self, every: float = 5.0) -> None:
        """Purge what every trigger of a broker has settled (the store decides how)."""
        while True:
            await asyncio.sleep(every)
            for broker in {w.active.broker.key for w in self.workers.values()}:
                with contextlib.suppress(StoreUnavailable):
                    await self.store.compact(broker)

    async def apply(self, triggers: list[ActiveTrigger]) -> None:
        want = {a.trigger.key: a for a in triggers}
        for key in list(self.workers):
            if key not in want:
                gone = self.workers.pop(key)
                await gone.stop()
                self.metrics.forget(gone.metrics)
                log.info("trigger %s removed", key)
                with contextlib.suppress(StoreUnavailable):
                    await self.store.delete_consumer(gone.active.broker.key, key)
        for key, a in want.items():
            w = self.workers.get(key)
            if w is None:
                w = self.workers[key] = TriggerWorker(self.store, self.sender, self.settings, a,
                                                      self.metrics.trigger(a.broker, a.trigger),
                                                      self.tracer)
                w.start()
                log.info("trigger %s -> %s", key, a.trigger.subscriber)
            elif w.active != a:
                w.update(a)

    async def close(self, grace: float = 0.0) -> None:
        """Shut down; deliveries in flight get `grace` seconds (all workers together)."""
        self._compactor.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._compactor
        await asyncio.gather(*(w.stop(grace) for w in self.workers.values()))
        self.workers.clear()
