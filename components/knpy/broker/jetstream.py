"""EventStore on NATS JetStream (nats-py): one stream per broker, one durable pull consumer
per trigger with explicit acks.

- Stream `broker_<ns>_<name>` (dots in names become `_`; Kubernetes names have no `_`, so
  the mapping is one-to-one) on subject `knpy.broker.<ns>.<name>`, file storage, limits
  retention (max age 7 days by default). Not interest retention: with nats-server 2.9.10 we
  measured accepted events lost across a server restart with interest retention (the
  consumer skipped records published right after the restart). `compact` instead purges
  what every consumer has acknowledged, keeping the newest KEEP records as a margin.
  A channel (store key `channel/<ns>/<name>`) gets `channel_<ns>_<name>` on
  `knpy.channel.<ns>.<name>`; its subscriptions' consumers are `<ns>_<uid>` in that stream.
- Consumer `<ns>_<trigger>`: DeliverPolicy NEW (a trigger sees events accepted after it
  exists), AckPolicy EXPLICIT, `ack_wait` and `max_deliver` from the trigger's delivery spec.
- `append` returns only after JetStream's PubAck: the record is in the stream's file store.
  It sets `Nats-Msg-Id` to the record's key, so JetStream stores a key once within the
  stream's `duplicate_window` (`--dedup-window`) and answers a repeat with PubAck
  `duplicate: true`.
- Acks are fire-and-forget publishes (nats-py), so the ones on the wire when nats-server
  goes down are lost and their records come back after ack_wait. The store remembers the
  acks of the last ACK_REPLAY seconds and publishes them again after a reconnect; acking a
  settled record again is a no-op for JetStream. That costs nothing per event, unlike a
  synchronous (double) ack.
- The server must be 2.10.14 or newer. Older ones (Debian's 2.9.10 among them) can take a
  redelivery off their queue, meet only an expired pull request, and forget the record
  until ack_wait (nats-server #5305): a `Retry-After: 1` retry then came 15+ s late. The
  store logs a warning when it connects to one (docs/broker.md, "The store's server").
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import re
import time

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext, api

from knpy.broker.store import (
    ConsumerSpec,
    EventStore,
    EventTooLarge,
    StoredRecord,
    StoreUnavailable,
)

log = logging.getLogger("knpy.broker.jetstream")

_STORE_ERRORS = (nats.errors.Error, asyncio.TimeoutError, OSError)
_ACK = b"+ACK"
_HEADER_ROOM = 256  # bytes kept free below max_payload for the NATS header block
ACK_REPLAY = 5.0  # seconds of acks sent before a disconnect that are sent again after it
REDELIVERY_FIXED = (2, 10, 14)  # the first nats-server with nats-server #5305's fix


def old_server_warning(version: str) -> str | None:
    """What to tell the operator about nats-server `version` ("2.9.10"), or None."""
    m = re.match(r"(\d+)\.(\d+)\.(\d+)", version)
    if m is None or tuple(int(g) for g in m.groups()) >= REDELIVERY_FIXED:
        return None
    return (f"nats-server {version} can hold a NAKed or expired record back until the "
            f"trigger's ack_wait (nats-server #5305, fixed in 2.10.14): retries may come "
            f"late; use 2.10.14 or newer, as the chart's nats-server image does")


def _parts(key: str, default_kind: str) -> tuple[str, str, str]:
    """("kind", "ns", "name") of a store key: `ns/name` (a broker or trigger) or
    `kind/ns/name` (a channel or subscription; Kubernetes names have no `/`)."""
    parts = key.split("/")
    if len(parts) == 3:
        return parts[0], parts[1], parts[2].replace(".", "_")
    return default_kind, parts[0], parts[1].replace(".", "_")


def stream_name(broker: str) -> str:
    kind, ns, name = _parts(broker, "broker")
    return f"{kind}_{ns}_{name}"


def subject(broker: str) -> str:
    kind, ns, name = _parts(broker, "broker")
    return f"knpy.{kind}.{ns}.{name}"


def consumer_name(trigger: str) -> str:
    # a subscription's consumer lives in its channel's stream: no clash with triggers'
    _kind, ns, name = _parts(trigger, "trigger")
    return f"{ns}_{name}"


class _AckLog:
    """The ack subjects published in the last ACK_REPLAY seconds (plus the outage)."""

    def __init__(self) -> None:
        self.sent: collections.deque[tuple[float, str]] = collections.deque()
        self.down_since: float | None = None

    def note(self, subject: str) -> None:
        now = time.monotonic()
        self.sent.append((now, subject))
        if self.down_since is None:  # while down, keep everything until the replay
            horizon = now - ACK_REPLAY
            while self.sent[0][0] < horizon:
                self.sent.popleft()

    def to_replay(self) -> list[str]:
        """The acks sent from ACK_REPLAY seconds before the disconnect until now."""
        since = (self.down_since or time.monotonic()) - ACK_REPLAY
        self.down_since = None
        return [s for t, s in self.sent if t >= since]


class _Record(StoredRecord):
    __slots__ = ("_acks", "_msg", "attempt", "data")

    def __init__(self, msg: Msg, acks: _AckLog) -> None:
        self._msg = msg
        self._acks = acks
        self.data = msg.data
        self.attempt = msg.metadata.num_delivered or 1

    async def ack(self) -> None:
        with contextlib.suppress(*_STORE_ERRORS):
            await self._msg.ack()
        self._acks.note(self._msg.reply)  # also when it failed: the replay sends it

    async def nak(self, delay: float = 0.0) -> None:
        with contextlib.suppress(*_STORE_ERRORS):
            await self._msg.nak(delay=delay if delay > 0 else None)

    async def term(self) -> None:
        with contextlib.suppress(*_STORE_ERRORS):
            await self._msg.term()

    async def extend(self) -> None:
        with contextlib.suppress(*_STORE_ERRORS):
            await self._msg.in_progress()


class JetStreamStore(EventStore):
    def __init__(self, servers: str, *, publish_timeout: float = 5.0,
                 max_bytes: int = -1, max_age: float = 7 * 86400, keep: int = 10_000,
                 dedup_window: float = 120.0) -> None:
        self.servers = [s.strip() for s in servers.split(",") if s.strip()]
        self.publish_timeout = publish_timeout
        self.max_bytes = max_bytes
        self.max_age = max_age
        self.keep = keep
        self.dedup_window = dedup_window
        self._acks = _AckLog()
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._subs: dict[tuple[str, str], JetStreamContext.PullSubscription] = {}
        self._connected = asyncio.Event()
        self._connector: asyncio.Task[None] | None = None

    # ------------------------------------------------------------ connection
    async def start(self) -> None:
        """Connect in the background (retrying forever); callers wait via `ready`."""
        self._connector = asyncio.create_task(self._connect_forever())

    async def ready(self) -> None:
        await self._connected.wait()

    async def _connect_forever(self) -> None:
        delay = 0.1
        while True:
            try:
                nc = await nats.connect(
                    servers=self.servers, allow_reconnect=True, max_reconnect_attempts=-1,
                    reconnect_time_wait=0.25, connect_timeout=2.0, ping_interval=5,
                    max_outstanding_pings=2, disconnected_cb=self._on_disconnect,
                    reconnected_cb=self._on_reconnect, error_cb=self._on_error,
                    name="knpy-broker")
            except _STORE_ERRORS as e:
                log.warning("nats connect failed (%s); retrying in %.1fs", e, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            self._nc = nc
            self._js = nc.jetstream(timeout=self.publish_timeout)
            self._connected.set()
            log.info("connected to nats %s", nc.connected_url)
            self._check_server()
            return

    async def _on_disconnect(self) -> None:
        log.warning("disconnected from nats")
        if self._acks.down_since is None:
            self._acks.down_since = time.monotonic()

    def _check_server(self) -> None:
        if self._nc is None:
            return
        v = self._nc.connected_server_version
        try:
            version = f"{v.major}.{v.minor}.{v.patch}"
        except ValueError:  # not semver: nothing to say
            return
        warning = old_server_warning(version)
        if warning:
            log.warning("%s", warning)

    async def _on_reconnect(self) -> None:
        self._check_server()  # perhaps another server of the cluster
        replay = self._acks.to_replay()
        log.info("reconnected to nats; sending the last %d acks again", len(replay))
        nc = self._nc
        if nc is None:
            return
        with contextlib.suppress(*_STORE_ERRORS):
            for subj in replay:
                await nc.publish(subj, _ACK)
            await nc.flush(timeout=self.publish_timeout)  # type: ignore[arg-type]  # nats-py says int; float works

    async def _on_error(self, e: Exception) -> None:
        log.warning("nats error: %s", e)

    async def close(self) -> None:
        if self._connector:
            self._connector.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connector
        if self._nc is not None:
            # Flush so the last acks reach the server. Not drain(): with pull consumers it
            # waits out nats-py's 30 s drain timeout, which held every SIGTERM that long.
            with contextlib.suppress(*_STORE_ERRORS):
                await self._nc.flush(timeout=2)
            with contextlib.suppress(*_STORE_ERRORS):
                await self._nc.close()

    def _jsx(self) -> JetStreamContext:
        if self._js is None or self._nc is None or not self._nc.is_connected:
            raise StoreUnavailable("not connected to nats")
        return self._js

    # ------------------------------------------------------------ brokers
    async def ensure_broker(self, broker: str) -> None:
        js = self._jsx()
        cfg = api.StreamConfig(
            name=stream_name(broker), subjects=[subject(broker)],
            retention=api.RetentionPolicy.LIMITS, storage=api.StorageType.FILE,
            max_bytes=self.max_bytes, max_age=self.max_age, num_replicas=1,
            discard=api.DiscardPolicy.OLD,
            duplicate_window=self.dedup_window or None)  # type: ignore[arg-type]  # None: server default
        try:
            have = (await js.stream_info(stream_name(broker))).config
            if self.dedup_window and have.duplicate_window != self.dedup_window:
                await js.update_stream(cfg)
        except nats.js.errors.NotFoundError:
            try:
                await js.add_stream(cfg)
            except _STORE_ERRORS as e:
                raise StoreUnavailable(f"creating stream {cfg.name}: {e}") from e
        except _STORE_ERRORS as e:
            raise StoreUnavailable(f"stream {cfg.name}: {e}") from e

    async def delete_broker(self, broker: str) -> None:
        js = self._jsx()
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await js.delete_stream(stream_name(broker))

    async def compact(self, broker: str) -> None:
        js = self._jsx()
        name = stream_name(broker)
        try:
            infos = await js.consumers_info(name)
            if not infos:
                return
            floor = min(i.ack_floor.stream_seq if i.ack_floor else 0 for i in infos)
            upto = floor - self.keep + 1  # purge removes sequences below `upto`
            state = (await js.stream_info(name)).state
            if upto > state.first_seq:
                await js.purge_stream(name, seq=upto)
        except _STORE_ERRORS as e:
            log.debug("compact %s skipped: %s", name, e)

    async def append(self, broker: str, record: bytes, key: str | None = None) -> None:
        js = self._jsx()
        hdrs = {"Nats-Msg-Id": key} if key is not None and self.dedup_window else None
        limit = self._nc.max_payload if self._nc is not None else 0
        # The server counts headers too, and answers an oversized message by closing the
        # connection: refuse it here, with room for the header block.
        if limit and len(record) + _HEADER_ROOM > limit:
            raise EventTooLarge(f"{len(record)} bytes; the store takes at most "
                                f"{limit - _HEADER_ROOM}")
        try:
            await js.publish(subject(broker), record, timeout=self.publish_timeout,
                             headers=hdrs)
        except _STORE_ERRORS as e:
            raise StoreUnavailable(f"append to {broker}: {e!r}") from e

    # ------------------------------------------------------------ consumers
    async def ensure_consumer(self, spec: ConsumerSpec) -> None:
        js = self._jsx()
        stream, name = stream_name(spec.broker), consumer_name(spec.trigger)
        want = api.ConsumerConfig(
            name=name, durable_name=name, deliver_policy=api.DeliverPolicy.NEW,
            ack_policy=api.AckPolicy.EXPLICIT, ack_wait=spec.ack_wait,
            max_deliver=spec.max_deliver, filter_subject=subject(spec.broker),
            max_ack_pending=-1, max_waiting=512)
        try:
            info = await js.consumer_info(stream, name)
            have = info.config
            if have.ack_wait != spec.ack_wait or have.max_deliver != spec.max_deliver:
                # Editable fields: the server keeps the consumer's position.
                await js.add_consumer(stream, want)
        except nats.js.errors.NotFoundError:
            try:
                await js.add_consumer(stream, want)
            except _STORE_ERRORS as e:
                raise StoreUnavailable(f"creating consumer {name}: {e}") from e
        except _STORE_ERRORS as e:
            raise StoreUnavailable(f"consumer {name}: {e}") from e

    async def delete_consumer(self, broker: str, trigger: str) -> None:
        sub = self._subs.pop((broker, trigger), None)
        if sub is not None:
            with contextlib.suppress(*_STORE_ERRORS):
                await sub.unsubscribe()
        js = self._jsx()
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await js.delete_consumer(stream_name(broker), consumer_name(trigger))

    async def fetch(self, broker: str, trigger: str, batch: int,
                    wait: float) -> list[StoredRecord]:
        js = self._jsx()
        key = (broker, trigger)
        sub = self._subs.get(key)
        try:
            if sub is None:
                sub = await js.pull_subscribe_bind(
                    durable=consumer_name(trigger), stream=stream_name(broker),
                    pending_msgs_limit=-1, pending_bytes_limit=-1)
                self._subs[key] = sub
            msgs = await sub.fetch(batch, timeout=wait)
        except (TimeoutError, nats.errors.TimeoutError):
            return []
        except _STORE_ERRORS as e:
            self._subs.pop(key, None)  # rebind next time (the consumer may be recreated)
            if sub is not None:
                with contextlib.suppress(*_STORE_ERRORS):
                    await sub.unsubscribe()
            raise StoreUnavailable(f"fetch {trigger}: {e!r}") from e
        return [_Record(m, self._acks) for m in msgs]
