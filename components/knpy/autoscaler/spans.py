"""The autoscaler's spans: one per activator poke, one per scale change a decision writes
and one per revision's initial scale.

The tracer is an `runtime.observability.otelops.OperationTracer` (None: tracing off, and
nothing here runs). A poke's span is the child of the request behind it (the trace context
the activator sends with the poke) and lasts from the poke's arrival to the end of its
decision; a scale-up written meanwhile (by that decision, or by a tick deciding the
revision first) is the child of the poke's span, so a cold start's trace reads gateway ->
activator -> poke -> scale. Decisions that change nothing make no span.
"""

from __future__ import annotations

from typing import Any

from knpy.autoscaler.decider import ScaleResult
from knpy.autoscaler.scaletarget import ScaleTarget
from knpy.runtime.contract.wirestat import WireStatMessage

__all__ = ["end_poke", "scale_reason", "start_poke", "traced_scale"]

NAMESPACE = "k8s.namespace.name"
REVISION = "knative.revision.name"


def start_poke(tracer: Any, msg: WireStatMessage) -> Any:
    """The CONSUMER span of a poke (a stat frame showing demand for an idle revision)."""
    parent = None
    if msg.traceparent:
        parent = {"traceparent": msg.traceparent}
        if msg.tracestate:
            parent["tracestate"] = msg.tracestate
    attrs = {NAMESPACE: msg.namespace, REVISION: msg.name}
    if msg.stat is not None and msg.stat.pod_name:
        attrs["knpy.autoscaler.poke.source"] = msg.stat.pod_name
    return tracer.start("poke", attrs, "consumer", parent)


def end_poke(tracer: Any, span: Any, want: int | None, reason: str, error: str = "") -> None:
    """`want` and `reason`: what the poke's decision wants and why (None, "": it failed)."""
    attrs: dict[str, Any] = {}
    if reason:
        attrs["knpy.autoscaler.decision"] = reason
    if want is not None:
        attrs["knpy.autoscaler.replicas.desired"] = want
    tracer.end(span, attrs, error)


def scale_reason(to: int, result: ScaleResult | None, poked: bool) -> str:
    """Why a scale change is written: `poke`, `scale-to-zero`, `panic` or `stable`."""
    if poked:
        return "poke"
    if to == 0:
        return "scale-to-zero"
    return "panic" if result is not None and result.panicking else "stable"


async def traced_scale(tracer: Any, target: ScaleTarget, namespace: str, revision: str,
                       to: int, reason: str, parent: Any = None) -> None:
    """`target.set_scale(to)` inside an INTERNAL `scale` span (child of `parent` if given:
    a poke's span, or a registering request's trace headers); a failure sets `error.type`
    to the exception's class. `replicas.from` is absent while the target has no scale yet
    (-1: a process target never scaled)."""
    attrs: dict[str, Any] = {NAMESPACE: namespace, REVISION: revision,
                             "knpy.autoscaler.replicas.to": to, "knpy.autoscaler.reason": reason}
    if target.desired >= 0:
        attrs["knpy.autoscaler.replicas.from"] = target.desired
    span = tracer.start("scale", attrs, "internal", parent)
    try:
        await target.set_scale(to)
    except BaseException as exc:
        tracer.end(span, error=type(exc).__qualname__)
        raise
    tracer.end(span)
