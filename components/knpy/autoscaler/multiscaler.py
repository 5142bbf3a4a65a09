"""One autoscaler for many revisions: scrape every second, decide every two.

`Multiscaler` owns, per revision, the windowed metrics, the KPA decider, the lifecycle and
the scale target. Its loops are the only I/O: scraping pods, probing the activator, and
calling the scale target. Activator stats arrive through `record_activator_stats`; one that
shows demand for a revision scaled to zero triggers a decision at once (Knative's "poke"),
which is what makes scale-from-zero fast.

With a tracer (`tracer`, an `otelops.OperationTracer`; None when tracing is off) a poke
and each scale change written get a span (spans.py); with none, a decision checks nothing
more than before, and only when it writes a change.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from knpy.apis.autoscaling.config import AutoscalerConfig
from knpy.autoscaler import spans
from knpy.autoscaler.collector import Collection
from knpy.autoscaler.decider import TICK_INTERVAL, Decider, ScaleResult
from knpy.autoscaler.lifecycle import Activation, Lifecycle, Mode, Outcome
from knpy.autoscaler.scaletarget import ScaleTarget
from knpy.autoscaler.scraper import ScrapeError, Scraper
from knpy.autoscaler.settings import RevisionSettings, resolve_settings
from knpy.runtime.contract.wirestat import WireStatMessage

__all__ = ["Multiscaler", "Revision", "RevisionSpec"]

log = logging.getLogger("knpy.autoscaler")

SCRAPE_INTERVAL = 1.0
PROBE_TIMEOUT = 0.5


@dataclass(frozen=True, slots=True)
class RevisionSpec:
    """What registering a revision needs (the PodAutoscaler spec, in effect)."""

    namespace: str
    name: str
    annotations: Mapping[str, str] = field(default_factory=dict)
    container_concurrency: int = 0
    reachable: bool = True
    # Where requests for the revision enter (the activator in Proxy mode). Probed with
    # `K-Network-Probe: activator` before the last pod is removed; None skips the probe.
    activator_probe_url: str | None = None

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(eq=False)
class Revision:
    spec: RevisionSpec
    settings: RevisionSettings
    target: ScaleTarget
    collection: Collection
    decider: Decider
    lifecycle: Lifecycle
    result: ScaleResult | None = None
    outcome: Outcome | None = None
    observed: tuple[float, float] | None = None
    scrape_error: str = ""
    activator_in_path: bool = False
    decisions: int = 0
    poke: asyncio.Task[Outcome] | None = None
    # Tracing on: the span of the poke whose decision is pending (from the poke's arrival
    # until its decision ends). A scale-up any decision writes meanwhile is its child.
    poke_span: Any = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def status(self) -> dict[str, Any]:
        """A JSON-ready view for the HTTP API."""
        out = self.outcome
        stable, panic = self.observed if self.observed else (None, None)
        ready = self.target.ready_pods()
        return {
            "namespace": self.spec.namespace,
            "name": self.spec.name,
            "metric": self.settings.metric,
            "target": self.settings.target,
            "totalPerPod": self.settings.total,
            "stableWindowSeconds": self.settings.stable_window,
            "panicWindowSeconds": self.settings.panic_window,
            "desiredScale": -1 if self.result is None else self.result.desired,
            "appliedScale": self.target.desired,
            "excessBurstCapacity": None if self.result is None
            else self.result.excess_burst_capacity,
            "panicMode": bool(self.result and self.result.panicking),
            "stableAverage": stable,
            "panicAverage": panic,
            "readyPods": len(ready),
            "notReadyPods": self.target.not_ready_count(),
            "pods": [{"name": p.name, "address": p.address, "metricsUrl": p.metrics_url}
                     for p in ready],
            "mode": (out.mode if out else Mode.SERVE).value,
            "activation": (out.activation if out else self.lifecycle.activation).value,
            "reason": out.reason if out else "",
            "activatorInPath": self.activator_in_path,
            "scrapeError": self.scrape_error,
            "decisions": self.decisions,
            # Processes a local scale target runs (tests check cleanup by PID).
            "pids": list(getattr(self.target, "pids", list)()),
        }


TargetFactory = Callable[[RevisionSpec, RevisionSettings], ScaleTarget]


class Multiscaler:
    def __init__(self, config: AutoscalerConfig, session: aiohttp.ClientSession, *,
                 clock: Callable[[], float] = time.monotonic,
                 tick_interval: float = TICK_INTERVAL,
                 scrape_interval: float = SCRAPE_INTERVAL) -> None:
        self.config = config
        self._session = session
        self._scraper = Scraper(session)
        self._clock = clock
        self._tick = tick_interval
        self._scrape_every = scrape_interval
        self.revisions: dict[str, Revision] = {}
        self._tasks: list[asyncio.Task[None]] = []
        # Called after every decision (the server republishes endpoints from it);
        # on_decision names the revision (cluster mode writes its PA's status).
        self.on_change: Callable[[], None] = lambda: None
        self.on_decision: Callable[[Revision], None] = lambda _rev: None
        # Whether requests for a revision reach the activator (before its last pod goes);
        # default: probe spec.activator_probe_url. Cluster mode reads the SKS instead.
        self.activator_check: Callable[[Revision], Awaitable[bool]] = self._probe_activator
        self.tracer: Any = None  # an otelops.OperationTracer; None: tracing off

    # ---------------------------------------------------------------- registry
    async def register(self, spec: RevisionSpec, target: ScaleTarget,
                       parent: Any = None) -> Revision:
        """Add a revision, or update it: new settings apply in place, and a different
        `target` replaces the old one (which is closed).

        A new revision's initial scale, and the scale a new target inherits from the one it
        replaces, are written in a `scale` span (tracing on; reason `initial` or `inherit`),
        the child of `parent` (a span, or W3C trace headers) if given, else a root.

        Raises FieldError for bad annotations, before anything changes.
        """
        settings = resolve_settings(self.config, spec.annotations, spec.container_concurrency,
                                    spec.reachable)
        now = self._clock()
        rev = self.revisions.get(spec.key)
        if rev is not None:
            rev.spec, rev.settings = spec, settings
            rev.collection.update(settings, now)
            rev.decider.update(settings)
            rev.lifecycle.settings = settings
            if target is not rev.target:
                old, rev.target = rev.target, target
                await old.close()
                if target.desired < 0 and old.desired > 0:  # e.g. pods from a new template
                    await self._write_scale(spec, target, old.desired, "inherit", parent)
            return rev
        ready = len(target.ready_pods())
        rev = Revision(spec, settings, target, Collection(settings),
                       Decider(settings, now, ready), Lifecycle(settings, now))
        self.revisions[spec.key] = rev
        if target.desired < 0 and settings.initial_scale > 0:
            # Like a new Deployment: the revision starts at its initial scale.
            initial = max(settings.initial_scale, settings.min_scale)
            await self._write_scale(spec, target, initial, "initial", parent)
        log.info("registered revision %s target=%.2f metric=%s", spec.key, settings.target,
                 settings.metric)
        return rev

    async def _write_scale(self, spec: RevisionSpec, target: ScaleTarget, to: int,
                           reason: str, parent: Any) -> None:
        """Every scale write (a decision's, `initial`, `inherit`): in a `scale` span, the
        child of `parent` if given, with tracing on."""
        if self.tracer is None:
            await target.set_scale(to)
        else:
            await spans.traced_scale(self.tracer, target, spec.namespace, spec.name, to,
                                     reason, parent)

    async def unregister(self, key: str) -> bool:
        rev = self.revisions.pop(key, None)
        if rev is None:
            return False
        if rev.poke is not None:
            rev.poke.cancel()
        if rev.poke_span is not None:  # the poke may never have started: end its span here
            self._end_poke(rev, None, "CancelledError")
        await rev.target.close()
        log.info("unregistered revision %s", key)
        return True

    async def set_config(self, config: AutoscalerConfig) -> None:
        """Apply a changed config-autoscaler to every revision (no restart)."""
        self.config = config
        for rev in list(self.revisions.values()):
            await self.register(rev.spec, rev.target)

    # ---------------------------------------------------------------- inputs
    def record_activator_stats(self, messages: Sequence[WireStatMessage]) -> None:
        now = self._clock()
        for msg in messages:
            rev = self.revisions.get(msg.key)
            if rev is None or msg.stat is None:
                continue
            rev.collection.record(now, msg.stat)
            idle = rev.result is None or rev.result.desired == 0 or rev.target.desired == 0
            if idle and msg.stat.average_concurrent_requests > 0 and (
                    rev.poke is None or rev.poke.done()):
                if self.tracer is not None:
                    # from now, so a tick deciding first writes the scale-up in this trace
                    rev.poke_span = spans.start_poke(self.tracer, msg)
                rev.poke = asyncio.create_task(self._poke(rev), name=f"poke-{msg.key}")

    async def scrape(self, rev: Revision) -> None:
        urls = [p.metrics_url for p in rev.target.ready_pods() if p.metrics_url]
        try:
            stat = await self._scraper.scrape(urls)
        except ScrapeError as exc:
            rev.scrape_error = str(exc)
            return
        rev.scrape_error = ""
        if stat is not None:
            rev.collection.record(self._clock(), stat)

    async def _probe_activator(self, rev: Revision) -> bool:
        url = rev.spec.activator_probe_url
        if url is None:
            return True
        try:
            async with self._session.get(
                    url, headers={"K-Network-Probe": "activator"},
                    timeout=aiohttp.ClientTimeout(total=PROBE_TIMEOUT)) as resp:
                body = await resp.text()
                return resp.status == 200 and body.strip() == "activator"
        except (aiohttp.ClientError, TimeoutError, OSError):
            return False

    # ---------------------------------------------------------------- decisions
    async def _poke(self, rev: Revision) -> Outcome:
        """The decision a poke asks for (in `rev.poke_span`, tracing on)."""
        if rev.poke_span is None:
            return await self.decide(rev)
        try:
            out = await self.decide(rev)
        except BaseException as exc:
            self._end_poke(rev, None, type(exc).__qualname__)
            raise
        self._end_poke(rev, out)
        return out

    def _end_poke(self, rev: Revision, out: Outcome | None, error: str = "") -> None:
        """End the pending poke's span once (its decision ended, or the revision went)."""
        span, rev.poke_span = rev.poke_span, None
        if span is not None:
            spans.end_poke(self.tracer, span, out.want if out else None,
                           out.reason if out else "", error)

    async def decide(self, rev: Revision) -> Outcome:
        """One decision for one revision, applied to its scale target. A scale-up written
        while a poke's decision is pending (the poke's own, or a tick's that came first) is
        in the poke's trace, the child of its span."""
        async with rev.lock:
            now = self._clock()
            ready = len(rev.target.ready_pods())
            rev.observed = rev.collection.stable_and_panic(now)
            if rev.observed is None:
                rev.result = None
            else:
                rev.result = rev.decider.scale(now, ready, *rev.observed)
            if rev.lifecycle.activation is Activation.INACTIVE and rev.target.desired != 0:
                rev.activator_in_path = await self.activator_check(rev)
            out = rev.lifecycle.reconcile(now, rev.result, ready, rev.activator_in_path)
            rev.outcome = out
            rev.decisions += 1
            if out.apply is not None and out.apply != rev.target.desired:
                log.info("scaling %s from %d to %d (%s; stable=%s panic=%s ready=%d)",
                         rev.spec.key, rev.target.desired, out.apply, out.reason,
                         *(rev.observed or (None, None)), ready)
                poke = rev.poke_span if out.apply > rev.target.desired else None
                await self._write_scale(
                    rev.spec, rev.target, out.apply,
                    spans.scale_reason(out.apply, rev.result, poke is not None), poke)
            self.on_change()
            self.on_decision(rev)
            return out

    async def _every(self, interval: float, step: Callable[[Revision], Awaitable[object]]) -> None:
        while True:
            started = time.monotonic()
            revs = list(self.revisions.values())
            results = await asyncio.gather(*(step(r) for r in revs),
                                           return_exceptions=True)
            for rev, res in zip(revs, results, strict=True):
                if isinstance(res, Exception):
                    log.error("%s on %s: %r", getattr(step, "__name__", step), rev.spec.key,
                              res)
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._every(self._scrape_every, self.scrape), name="scrape"),
            asyncio.create_task(self._every(self._tick, self.decide), name="decide"),
        ]

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        for key in list(self.revisions):
            await self.unregister(key)
