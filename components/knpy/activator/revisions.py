"""The set of revisions the activator serves: one throttler each, kept in step with the
backend source (a watched file, flags, or the Kubernetes API).

Sources describe revisions as `RevisionConfig`s (settings plus backend addresses). New
backends are handed to the prober; a revision that disappears fails its waiters (503) and
closes its connections.

A pod may also announce itself (announce.py) before its source lists it: it is a backend
like a listed pod that is not ready yet (probed first), until the source lists it or, if
that never happens, for `ANNOUNCE_TTL` seconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from knpy.activator.prober import Prober
from knpy.activator.stats import ConcurrencyReporter
from knpy.activator.subsetting import self_index
from knpy.activator.throttler import (
    DEFAULT_TIMEOUT,
    QUEUE_DEPTH,
    PodTracker,
    RevisionGone,
    RevisionThrottler,
    acquire,
)
from knpy.runtime.hotpath.breaker import QueueFullError
from knpy.runtime.proxy import Exchange

log = logging.getLogger("knpy.activator.revisions")

# How long an announced pod stays a backend without its source listing it. Sources list a
# new pod about a second after it starts; this only bounds a pod that vanished unlisted.
ANNOUNCE_TTL = 30.0


@dataclass(frozen=True, slots=True)
class RevisionConfig:
    namespace: str
    name: str
    container_concurrency: int = 0
    timeout: float = DEFAULT_TIMEOUT
    backends: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


class Revisions:
    def __init__(self, prober: Prober, reporter: ConcurrencyReporter, *,
                 queue_depth: int = QUEUE_DEPTH, pod_ip: str = "") -> None:
        self.prober = prober
        self.reporter = reporter
        self.queue_depth = queue_depth
        self.pod_ip = pod_ip
        self.by_key: dict[bytes, RevisionThrottler] = {}  # what the handler reads
        self.activator_index = -1
        self.activator_count = 1
        # per revision: what its source last listed (ready: what the kubelet called ready;
        # not ready), and the pods that announced themselves and are not listed yet, with
        # when each announcement expires
        self._listed: dict[str, tuple[set[str], set[str]]] = {}
        self._announced: dict[str, dict[str, float]] = {}

    def get(self, key: str) -> RevisionThrottler | None:
        return self.by_key.get(key.encode())

    def upsert(self, cfg: RevisionConfig, backends: Iterable[str] | None = None) -> None:
        """Create or update a revision; `backends` None keeps its current ones."""
        k = cfg.key.encode()
        rt = self.by_key.get(k)
        if rt is None:
            rt = RevisionThrottler(cfg.key, cfg.container_concurrency, timeout=cfg.timeout,
                                   queue_depth=self.queue_depth)
            rt.set_activators(self.activator_index, self.activator_count)
            self.by_key[k] = rt
            log.info("revision %s: containerConcurrency %d, %s", cfg.key,
                     cfg.container_concurrency, rt.policy_name)
        else:
            rt.timeout = cfg.timeout
            rt.set_container_concurrency(cfg.container_concurrency)
        if backends is not None:
            self.set_backends(cfg.key, backends)

    def set_backends(self, key: str, backends: Iterable[str],
                     not_ready: Iterable[str] = ()) -> None:
        """`backends` the kubelet calls ready, `not_ready` the pods it does not (yet): both
        take requests once they pass the probe; one that turns not ready is probed again."""
        rt = self.by_key.get(key.encode())
        if rt is None:
            return
        ready, unready = set(backends), set(not_ready)
        was_ready = self._listed.get(key, (set(), set()))[0]
        self._listed[key] = (ready, unready)
        announced = self._announced.get(key)
        if announced:
            now = asyncio.get_running_loop().time()
            for d in [d for d, until in announced.items()
                      if d in ready or d in unready or until <= now]:
                del announced[d]  # listed now (or never will be): the source decides
            if not announced:
                del self._announced[key]
        added, removed = rt.set_dests(ready | unready | set(announced or ()))
        for t in removed:
            self.prober.forget(t)
        for t in added:
            t.pool.on_dial_error = lambda _pool, ex, rt=rt, t=t: self._dial_failed(rt, t, ex)
            self.prober.watch(rt, t)
        # A pod the kubelet took out of the ready set: out until it passes again. (One
        # that passed our probe before the kubelet's stays in while it is not ready yet.)
        for d in unready & was_ready:
            rt.set_healthy(d, False)
            self.prober.watch(rt, rt.trackers[d])
        if added or removed:
            log.info("revision %s: backends %s (+%d -%d)", key, sorted(rt.trackers),
                     len(added), len(removed))

    def announce(self, key: str, dest: str) -> bool:
        """A pod of revision `key` says it serves at `dest`: a backend (probed first) until
        the source lists it or `ANNOUNCE_TTL` passes. False if the revision is unknown."""
        if key.encode() not in self.by_key:
            return False
        ready, unready = self._listed.get(key, (set(), set()))
        if dest in ready or dest in unready:
            return True
        loop = asyncio.get_running_loop()
        self._announced.setdefault(key, {})[dest] = loop.time() + ANNOUNCE_TTL
        log.info("revision %s: pod %s announced itself", key, dest)
        self._relist(key)
        loop.call_later(ANNOUNCE_TTL + 0.01, self._expire, key)
        return True

    def _expire(self, key: str) -> None:
        if key in self._announced:
            self._relist(key)

    def _relist(self, key: str) -> None:
        """The source's last list again, with the announcements merged in (expired ones
        dropped)."""
        self.set_backends(key, *self._listed.get(key, ((), ())))

    def _dial_failed(self, rt: RevisionThrottler, t: PodTracker, ex: Exchange) -> bool:
        """A pod refused a connection: out of rotation until it passes the probe again.
        Nothing of the request reached it, so it goes to another pod: one with a free slot
        now, or the first to free up (waiting in the revision's queue like a new request;
        queue full, timeout or revision removed give the handler's 503s)."""
        if rt.trackers.get(t.dest) is t and t.healthy:
            log.warning("revision %s: pod %s refused a connection; probing it again", rt.key,
                        t.dest)
            rt.set_healthy(t.dest, False)
            self.prober.watch(rt, t)
        user = ex.user
        if type(user) is not tuple or user[0] is not t:
            return False
        user[1].release()
        pick = rt.try_reserve()
        if pick is None:
            ex.user = rt  # no slot held while it waits (see ActivatorHandler._done)
            ex.task = asyncio.get_running_loop().create_task(self._requeue(rt, ex))
            return True
        ex.user = pick
        ex.redirect(pick[0].pool)
        return True

    @staticmethod
    async def _requeue(rt: RevisionThrottler, ex: Exchange) -> None:
        """Wait for another pod for a request whose pod refused it (ex.task: cancelled if
        the client leaves)."""
        try:
            pick = await acquire(rt)
        except QueueFullError:
            ex.fail(503, "pending request queue full")
            return
        except TimeoutError:
            ex.fail(503, "context deadline exceeded")
            return
        except RevisionGone:
            ex.fail(503, "revision removed while the request waited")
            return
        except Exception:
            log.exception("requeue of a refused request failed")
            ex.fail(500, "internal error")
            return
        ex.task = None
        ex.user = pick
        ex.redirect(pick[0].pool)

    def remove(self, key: str) -> None:
        self._listed.pop(key, None)
        self._announced.pop(key, None)
        rt = self.by_key.pop(key.encode(), None)
        if rt is None:
            return
        for t in rt.trackers.values():
            self.prober.forget(t)
        rt.close()
        self.reporter.forget(rt)
        log.info("revision %s removed", key)

    def replace_all(self, configs: Iterable[RevisionConfig]) -> None:
        """Make the served set exactly `configs` (standalone file reloads)."""
        wanted = {c.key: c for c in configs}
        for k in [k.decode() for k in self.by_key]:
            if k not in wanted:
                self.remove(k)
        for cfg in wanted.values():
            self.upsert(cfg, cfg.backends)

    def set_activator_ips(self, ips: Iterable[str]) -> None:
        """Subsetting input: every activator's IP (this one's is `pod_ip`)."""
        ips = list(ips)
        index, count = self_index(self.pod_ip, ips) if ips else (-1, 1)
        self.activator_index, self.activator_count = index, max(count, 1)
        for rt in self.by_key.values():
            rt.set_activators(self.activator_index, self.activator_count)

    def close(self) -> None:
        for k in [k.decode() for k in self.by_key]:
            self.remove(k)
