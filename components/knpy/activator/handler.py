"""The activator's request path on the shared proxy core.

Per request (Knative's activator handler chain):
1. probes: `K-Network-Probe: activator` -> 200 `activator`; kubelet probes (User-Agent
   `kube-probe/...` or a `K-Kubelet-Probe` header) -> 200 `ok` (500 while draining); any
   other probe value -> 400;
2. the revision from `Knative-Serving-Namespace` / `Knative-Serving-Revision` (set by the
   ingress; removed before forwarding), else from a Host naming the revision's own Service
   (`<revision>.<namespace>[.svc[.<cluster domain>]]`, so a revision is reachable through
   its Kubernetes Service with no ingress, where Knative's activator answers 404); an
   unknown revision -> 404;
3. counted in the revision's stats (the first request of an idle revision pokes the
   autoscaler);
4. a pod slot now (`try_reserve`), or a wait in the revision's queue, bounded by the
   queue depth (503 `pending request queue full`) and the revision's timeout (503);
5. forwarded with `K-Proxy-Request: activator` (and `K-Original-Host` passed on, for the
   queue-proxy); a pod that has not started its response by the revision's timeout
   (counted from the request's arrival) gets 504 `activator request timeout`, as Knative's
   activator answers; the slot is released when the exchange ends, however it ends.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from knpy.activator.stats import ConcurrencyReporter
from knpy.activator.throttler import PodTracker, RevisionGone, RevisionThrottler, acquire
from knpy.runtime.hotpath.breaker import QueueFullError, Release
from knpy.runtime.proxy import Exchange, http

log = logging.getLogger("knpy.activator")

NAMESPACE_HEADER = b"knative-serving-namespace"
REVISION_HEADER = b"knative-serving-revision"
KUBELET_PROBE_HEADER = b"k-kubelet-probe"
PROXY_LINE = b"K-Proxy-Request: activator\r\n"
_K = frozenset(b"Kk")
# The core takes K-Original-Host out of the forwarded lines (the queue-proxy turns it back
# into Host); the activator is not the last hop, so it passes it on unchanged.
_ORIGINAL_HOST = b"K-Original-Host: %s\r\n%s"

QUEUE_FULL = http.error_response(503, "pending request queue full")
TIMED_OUT = http.error_response(503, "context deadline exceeded")
GONE = http.error_response(503, "revision removed while the request waited")
REQUEST_TIMEOUT = b"activator request timeout"  # Knative's activator timeout handler body
_ACTIVATOR = http.response(200, b"activator")
_HEALTHY = http.response(200, b"ok")
_DRAINING = http.error_response(500, "draining")
_NO_HEADERS = http.error_response(
    404, "no revision: requests need Knative-Serving-Namespace and Knative-Serving-Revision, "
    "or Host <revision>.<namespace>[.svc...]")
_KUBE_PROBE = b"kube-probe/"


class ActivatorHandler:
    """A proxy-core Handler for the activator's main port."""

    def __init__(self, revisions: dict[bytes, RevisionThrottler],
                 reporter: ConcurrencyReporter, clock: Callable[[], float]) -> None:
        self.revisions = revisions  # b"namespace/name" -> throttler (kept by Revisions)
        self.reporter = reporter
        self.clock = clock
        self.draining = False
        self.last_request = 0.0  # loop time of the latest non-probe request (drain)

    def handle(self, ex: Exchange) -> None:
        if ex.probe or ex.user_agent.startswith(_KUBE_PROBE):
            self._probe(ex)
            return
        self.last_request = ex.t0
        rt = self._revision(ex)
        if rt is None:
            return
        self.reporter.request_in(rt, ex.t0, ex)
        ex.on_done = self._done
        pick = rt.try_reserve()
        if pick is None:
            ex.user = rt
            ex.defer(self._wait(ex, rt))
            return
        ex.user = pick
        ex.set_timeout(rt.timeout, REQUEST_TIMEOUT)
        if ex.original_host:
            ex.forward(pick[0].pool, _ORIGINAL_HOST % (ex.original_host, PROXY_LINE))
        else:
            ex.forward(pick[0].pool, PROXY_LINE)

    def _revision(self, ex: Exchange) -> RevisionThrottler | None:
        """Find and remove the two routing headers; answer 404 if they name no revision.

        The same pass spots `K-Kubelet-Probe` (the header Knative's activator readiness
        probe sends) and answers it as a kubelet probe."""
        ns = name = b""
        lines = ex.lines
        keep = None
        kubelet = False
        for i, ln in enumerate(lines):
            if ln[0] in _K:  # only K-/Knative- headers matter here: one byte test per line
                lname, _, value = ln.partition(b":")
                lname = lname.strip().lower()
                if lname in (NAMESPACE_HEADER, REVISION_HEADER):
                    if lname == NAMESPACE_HEADER:
                        ns = value.strip()
                    else:
                        name = value.strip()
                    if keep is None:
                        keep = lines[:i]
                    continue
                if lname == KUBELET_PROBE_HEADER:
                    kubelet = True
            if keep is not None:
                keep.append(ln)
        if keep is not None:
            ex.lines = keep
        if kubelet:
            ex.respond_raw(_DRAINING if self.draining else _HEALTHY)
            return None
        if not ns or not name:
            rt = self._by_host(ex.host)
            if rt is None:
                ex.respond_raw(_NO_HEADERS)
            return rt
        rt = self.revisions.get(b"%s/%s" % (ns, name))
        if rt is None:
            ex.reply(404, b'revision.serving.knative.dev "%s" not found\n' % name)
        return rt

    def _by_host(self, host: bytes | None) -> RevisionThrottler | None:
        """The revision whose own Service `host` names: `<revision>.<namespace>`, optionally
        followed by `.svc` and the cluster domain, and a port."""
        if not host:
            return None
        labels = host.partition(b":")[0].split(b".")
        if len(labels) < 2 or (len(labels) > 2 and labels[2] != b"svc"):
            return None
        return self.revisions.get(labels[1] + b"/" + labels[0])

    async def _wait(self, ex: Exchange, rt: RevisionThrottler) -> None:
        try:
            pick = await acquire(rt)
        except QueueFullError:
            ex.respond_raw(QUEUE_FULL)
            return
        except TimeoutError:
            ex.respond_raw(TIMED_OUT)
            return
        except RevisionGone:
            ex.respond_raw(GONE)
            return
        ex.user = pick
        ex.set_timeout(rt.timeout, REQUEST_TIMEOUT)
        extra = (_ORIGINAL_HOST % (ex.original_host, PROXY_LINE) if ex.original_host
                 else PROXY_LINE)
        ex.forward(pick[0].pool, extra)

    def _done(self, ex: Exchange) -> None:
        user = ex.user
        ex.user = None
        if type(user) is tuple:
            tracker: PodTracker = user[0]
            slot: Release = user[1]
            slot.release()
            rt = tracker.rt
            if rt.pending:
                rt.wake()
        else:
            rt = user
        now = self.clock()
        self.reporter.request_out(rt, now)
        rt.latency[min(ex.status // 100, 5)].observe(now - ex.t0)

    # ---------------------------------------------------------------- probes
    def _probe(self, ex: Exchange) -> None:
        probe = ex.probe
        if probe == b"activator":
            ex.respond_raw(_ACTIVATOR)
        elif probe:
            ex.reply(400, b"unexpected probe header value: %s\n" % probe)
        else:
            ex.respond_raw(_DRAINING if self.draining else _HEALTHY)
