"""Reconcile spans: the process's control-plane tracer, shared by every `Controller`
(like the metrics registry: a process may run many controllers).

`install` it once at start (the controller; the gateway and the autoscaler in cluster
mode); `tracer` stays None (tracing off) otherwise, and a reconcile then costs one
attribute read more. The tracer is a `runtime.observability.otelops.
OperationTracer` (from `runtime.observability.tracing.load`).
"""

from __future__ import annotations

from typing import Any

tracer: Any = None  # None: tracing off


def install(t: Any | None) -> None:
    global tracer
    tracer = t
