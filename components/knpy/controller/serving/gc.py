"""Revision garbage collection from config-gc (Knative's reconciler/gc v2), run after each
Configuration reconcile.

Never collected: the Configuration's latest created and latest ready Revisions, Revisions
annotated `serving.knative.dev/no-gc: "true"`, and Revisions still routed (routingState
active). Of the rest, newest (last active) first: the first min-non-active are kept; past
them a Revision older than both retain times is deleted; then all but max-non-active of the
survivors are deleted, oldest first. Last active = the routingStateModified annotation,
else the creation time.
"""

from __future__ import annotations

import datetime as dt
import logging

from knpy.apis.serving.config_gc import DISABLED, GCConfig
from knpy.apis.serving.v1.register import (
    CONFIGURATION_LABEL,
    NO_GC_ANNOTATION,
    ROUTING_STATE_LABEL,
    ROUTING_STATE_MODIFIED_ANNOTATION,
)
from knpy.runtime.k8s.resources import Obj

__all__ = ["collectable", "parse_time"]

log = logging.getLogger("knpy.controller.serving.gc")


def parse_time(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _created(rev: Obj) -> dt.datetime:
    return parse_time(rev["metadata"].get("creationTimestamp")) or \
        dt.datetime.min.replace(tzinfo=dt.UTC)


def _last_active(rev: Obj) -> dt.datetime:
    ann = rev["metadata"].get("annotations") or {}
    return parse_time(ann.get(ROUTING_STATE_MODIFIED_ANNOTATION)) or _created(rev)


def _stale(cfg: GCConfig, rev: Obj, now: dt.datetime) -> bool:
    since_create, since_active = cfg.retain_since_create_time, cfg.retain_since_last_active_time
    if since_create == DISABLED and since_active == DISABLED:
        return False
    if since_create != DISABLED and (now - _created(rev)).total_seconds() < since_create:
        return False
    return not (since_active != DISABLED
                and (now - _last_active(rev)).total_seconds() < since_active)


def collectable(cfg: GCConfig, config: Obj, revisions: list[Obj], now: dt.datetime
                ) -> list[str]:
    """Names of the Configuration's Revisions to delete now, in deletion order."""
    if (cfg.max_non_active_revisions == DISABLED and cfg.retain_since_create_time == DISABLED
            and cfg.retain_since_last_active_time == DISABLED):
        return []
    name = config["metadata"]["name"]
    mine = [r for r in revisions
            if (r["metadata"].get("labels") or {}).get(CONFIGURATION_LABEL) == name]
    keep_min = max(cfg.min_non_active_revisions, 0)
    if len(mine) <= keep_min:
        return []
    st = config.get("status") or {}
    pinned = {st.get("latestCreatedRevisionName"), st.get("latestReadyRevisionName")}

    def active(r: Obj) -> bool:
        md = r["metadata"]
        return (md["name"] in pinned
                or (md.get("annotations") or {}).get(NO_GC_ANNOTATION) == "true"
                or (md.get("labels") or {}).get(ROUTING_STATE_LABEL) == "active")

    idle = sorted((r for r in mine if not active(r)), key=_last_active, reverse=True)
    doomed: list[str] = []
    kept = idle[:keep_min]
    for r in idle[keep_min:]:
        if _stale(cfg, r, now):
            doomed.append(r["metadata"]["name"])
        else:
            kept.append(r)
    kept.sort(key=_last_active, reverse=True)
    limit = cfg.max_non_active_revisions
    if limit != DISABLED and len(kept) > limit:
        doomed += [r["metadata"]["name"] for r in reversed(kept[limit:])]
    return doomed
