"""Pure SinkBinding injection rules (Knative's): every container and init container of the
subject's pod template gets K_SINK (and K_CE_OVERRIDES when the binding has ceOverrides,
removed otherwise); an existing variable is replaced in place, a new one appended. Undo
removes both. Functions mutate the object given and say whether anything changed."""

from __future__ import annotations

from typing import Any

from knpy.apis.sources.v1.register import K_CE_OVERRIDES, K_SINK

__all__ = ["BOUND_BY", "bind", "bound_by", "pod_spec_of", "unbind"]

# on each subject: the binding that injected its env, so a subject that stops matching a
# selector (or a binding being deleted) is unbound even when the selector changed
BOUND_BY = "sources.knpy.dev/sinkbinding"


def bound_by(obj: dict[str, Any]) -> str | None:
    return ((obj.get("metadata") or {}).get("annotations") or {}).get(BOUND_BY)


def _mark(obj: dict[str, Any], name: str | None) -> bool:
    md = obj.setdefault("metadata", {})
    ann = dict(md.get("annotations") or {})
    if ann.get(BOUND_BY) == name:
        return False
    if name is None:
        ann.pop(BOUND_BY, None)
    else:
        ann[BOUND_BY] = name
    md["annotations"] = ann
    return True


def pod_spec_of(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The pod spec of a PodSpecable: spec.template.spec (Deployment, StatefulSet,
    DaemonSet, ReplicaSet, Job, Knative Service...) or CronJob's jobTemplate."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return None
    if obj.get("kind") == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    tpl = spec.get("template")
    if not isinstance(tpl, dict):
        return None
    ps = tpl.get("spec")
    return ps if isinstance(ps, dict) else None


def _containers(ps: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for key in ("initContainers", "containers")
            for c in ps.get(key) or [] if isinstance(c, dict)]


def _set(c: dict[str, Any], name: str, value: str | None) -> bool:
    env = c.get("env") or []
    for i, e in enumerate(env):
        if e.get("name") == name:
            if value is None:
                del env[i]
                if not env:
                    c.pop("env", None)
                return True
            if e.get("value") == value and set(e) == {"name", "value"}:
                return False
            env[i] = {"name": name, "value": value}
            return True
    if value is None:
        return False
    c["env"] = [*env, {"name": name, "value": value}]
    return True


def bind(obj: dict[str, Any], sink: str, overrides: str | None, by: str | None = None
         ) -> bool:
    ps = pod_spec_of(obj)
    if ps is None:
        return False
    changed = _mark(obj, by) if by else False
    for c in _containers(ps):
        changed |= _set(c, K_SINK, sink)
        changed |= _set(c, K_CE_OVERRIDES, overrides)
    return changed


def unbind(obj: dict[str, Any]) -> bool:
    ps = pod_spec_of(obj)
    if ps is None:
        return False
    changed = _mark(obj, None)
    for c in _containers(ps):
        changed |= _set(c, K_SINK, None)
        changed |= _set(c, K_CE_OVERRIDES, None)
    return changed
