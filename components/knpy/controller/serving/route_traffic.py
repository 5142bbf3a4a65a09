"""A Route's traffic targets resolved to Revisions (Knative's route/traffic package), pure:
from the Route and the cached Configurations and Revisions.

- `revisionName`: that Revision, which must exist and be Ready;
- `configurationName` (`latestRevision: true`): its `latestReadyRevisionName`.
One Target per spec target, in order (the Route's status.traffic lists them so).

Any target that does not resolve yields a `TrafficError` that says why on the Route's
AllTrafficAssigned (RevisionMissing, ConfigurationMissing, ...); a failure (False) wins over
a wait (Unknown), else the first wins, and the Route is then not programmed at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from knpy.apis.serving.v1 import Route, RouteStatus
from knpy.runtime.k8s import Lister
from knpy.runtime.k8s.resources import Obj

__all__ = ["Target", "TrafficError", "resolve_traffic"]


@dataclass(frozen=True, slots=True)
class Target:
    revision: str
    percent: int | None  # None: the spec gave none (a tag-only target)
    tag: str = ""
    latest: bool = False  # followed its Configuration's latest ready Revision


@dataclass(frozen=True, slots=True)
class TrafficError:
    failed: bool  # False: a permanent problem; else it may resolve by itself
    mark: Callable[[RouteStatus], None]


def _ready(obj: Obj) -> str:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c.get("status") or "Unknown"
    return "Unknown"


def _resolve(ns: str, t: Obj, configurations: Lister, revisions: Lister
             ) -> tuple[str, bool] | TrafficError:
    """(revision, latest) for one target, or why it has none."""
    if t.get("revisionName"):
        name = t["revisionName"]
        rev = revisions.get(ns, name)
        if rev is None:
            return TrafficError(True, lambda s: s.mark_missing_traffic_target("Revision", name))
        ready = _ready(rev)
        if ready == "False":
            return TrafficError(True, lambda s: s.mark_revision_failed(name))
        if ready != "True":
            return TrafficError(False, lambda s: s.mark_revision_not_ready(name))
        return name, False
    name = t.get("configurationName") or ""
    cfg = configurations.get(ns, name)
    if cfg is None:
        return TrafficError(True, lambda s: s.mark_missing_traffic_target("Configuration",
                                                                          name))
    latest = (cfg.get("status") or {}).get("latestReadyRevisionName")
    if not latest:
        if _ready(cfg) == "False":
            return TrafficError(True, lambda s: s.mark_configuration_failed(name))
        return TrafficError(False, lambda s: s.mark_configuration_not_ready(name))
    return latest, True


def resolve_traffic(route: Route, configurations: Lister, revisions: Lister
                    ) -> list[Target] | TrafficError:
    out: list[Target] = []
    first: TrafficError | None = None
    for t in route.traffic:
        got = _resolve(route.namespace, t, configurations, revisions)
        if isinstance(got, TrafficError):
            if first is None or (got.failed and not first.failed):
                first = got
            continue
        rev, latest = got
        out.append(Target(rev, t.get("percent"), t.get("tag") or "", latest))
    return first if first is not None else out
