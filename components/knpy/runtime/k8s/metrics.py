"""Metrics of every `Controller` in the process (docs/observability.md): reconciles by
reconciler and result, their durations, and the work queues' depth. One registry for the
process, since a component may run several controllers; it serves them with its other
metrics (`render`).

Results: `success`, `requeue` (RequeueAfter), `skip` (SkipKey), `error` (retried with
backoff), `permanent_error` (not retried).
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from knpy.runtime.observability.metrics import Registry, Sample

if TYPE_CHECKING:
    from knpy.runtime.k8s.reconciler import Controller

RESULTS = ("success", "requeue", "skip", "error", "permanent_error")

REGISTRY = Registry()
RECONCILES = REGISTRY.counter("controller_reconciles_total", "Reconciles by result",
                              ("reconciler", "result"))
DURATIONS = REGISTRY.histogram("controller_reconcile_duration_seconds",
                               "Time of one reconcile", ("reconciler",))
_controllers: weakref.WeakSet[Controller] = weakref.WeakSet()


def _depths() -> list[Sample]:
    by_name: dict[str, int] = {}
    for c in list(_controllers):
        by_name[c.name] = by_name.get(c.name, 0) + c.queue.depth
    return [((name,), n) for name, n in sorted(by_name.items())]


REGISTRY.collected("controller_workqueue_depth", "gauge",
                   "Keys queued and not yet taken by a worker", ("reconciler",), _depths)


def track(c: Controller) -> None:
    """Count `c`'s queue in controller_workqueue_depth while `c` lives."""
    _controllers.add(c)


def render() -> bytes:
    return REGISTRY.render()
