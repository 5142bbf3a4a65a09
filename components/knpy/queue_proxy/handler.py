"""The queue-proxy's request path: probes, stats, breaker, then the proxy core.

Order per request (Knative's queue main handler): network/kubelet probes are answered here
and bypass everything else; every other request is counted in the request stats (proxied if
`K-Proxy-Request: activator`), then takes a breaker slot (waiting in the bounded queue, or
503 `pending request queue full`), then is forwarded to the user container.
"""

from __future__ import annotations

from collections.abc import Callable

from knpy.queue_proxy.drain import Drainer
from knpy.queue_proxy.readiness import ReadinessProber
from knpy.runtime.hotpath.breaker import Breaker, QueueFullError
from knpy.runtime.hotpath.reqstats import RequestStats
from knpy.runtime.observability.metrics import Histogram, class_histograms
from knpy.runtime.proxy import Exchange, UpstreamPool, http

QUEUE_FULL = http.error_response(503, "pending request queue full")
_SHUTTING_DOWN = http.error_response(503, "shutting down")
_NOT_READY = http.response(503, b"")
_READY = http.response(200, b"queue")
_HASH_MISSING = http.error_response(400, "probe hash missing")
_KUBE_PROBE = b"kube-probe/"
_ACTIVATOR_PROBE = b"Knative-Activator-Probe"


class QueueHandler:
    """A proxy-core Handler: one instance serves the queue-proxy's main port."""

    def __init__(self, pool: UpstreamPool, stats: RequestStats, breaker: Breaker | None,
                 prober: ReadinessProber, drainer: Drainer, clock: Callable[[], float],
                 latency: list[Histogram] | None = None) -> None:
        self.pool = pool
        self.stats = stats
        self.breaker = breaker
        self.prober = prober
        self.drainer = drainer
        self.clock = clock
        # Request durations by status class, for the Prometheus endpoint (queue_proxy.metrics).
        self.latency = class_histograms() if latency is None else latency

    def handle(self, ex: Exchange) -> None:
        if (ex.probe or ex.user_agent.startswith(_KUBE_PROBE) or ex.kubelet_probe
                or ex.user_agent == _ACTIVATOR_PROBE):
            self._probe(ex)
            return
        self.drainer.last_request = ex.t0
        if self.prober.lost:
            # Its container failed readiness: answer, but end the connection. A client
            # that pools connections to the revision's Service (the gateway) is otherwise
            # held to this pod by the connection's conntrack entry after the endpoints
            # moved on (to the activator); dialing again reaches what they name now.
            ex.close_after = True
        self.stats.request_in(ex.t0, ex.proxied)
        ex.on_done = self._done
        if ex.original_host:  # Knative's RewriteHostOut: the activator's mesh-mode header
            ex.set_header(b"Host", ex.original_host)
        breaker = self.breaker
        if breaker is not None:
            slot = breaker.reserve()
            if slot is None:
                ex.defer(self._queued(ex, breaker))
                return
            ex.user = slot
        ex.forward(self.pool)

    async def _queued(self, ex: Exchange, breaker: Breaker) -> None:
        try:
            slot = await breaker.acquire()
        except QueueFullError:
            ex.respond_raw(QUEUE_FULL)
            return
        ex.user = slot
        ex.forward(self.pool)

    def _done(self, ex: Exchange) -> None:
        slot = ex.user
        if slot is not None:
            ex.user = None
            slot.release()
        now = self.clock()
        self.stats.request_out(now, ex.proxied)
        self.latency[min(ex.status // 100, 5)].observe(now - ex.t0)

    # ---------------------------------------------------------------- probes
    def _probe(self, ex: Exchange) -> None:
        probe = ex.probe
        if probe == b"probe":
            # The networking prober's check that this pod is reachable: echo the hash.
            if not ex.hash:
                ex.respond_raw(_HASH_MISSING)
            else:
                ex.reply(200, b"", headers=b"K-Network-Hash: %s\r\n" % ex.hash)
            return
        if probe and probe != b"queue":
            ex.reply(400, b"unexpected probe header value: %s\n" % probe)
            return
        if self.drainer.draining:
            ex.respond_raw(_SHUTTING_DOWN)
            return
        ex.defer(self._readiness(ex))

    async def _readiness(self, ex: Exchange) -> None:
        ok = await self.prober.check()
        if self.drainer.draining:
            ex.respond_raw(_SHUTTING_DOWN)
        else:
            ex.respond_raw(_READY if ok else _NOT_READY)
