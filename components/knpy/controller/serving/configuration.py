"""Configuration reconciler (Knative's reconciler/configuration): one immutable Revision
per generation of the template (`<name>-00001`, ... or the template's BYO name), and
latestCreatedRevisionName / latestReadyRevisionName from the Revisions' Ready; then the
Revision GC of config-gc (gc.py)."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from typing import Any

from knpy.apis.serving.config_gc import GCConfig
from knpy.apis.serving.v1 import Configuration
from knpy.apis.serving.v1.register import (
    CONFIGURATION_GENERATION_LABEL,
    CONFIGURATION_LABEL,
    CONFIGURATION_UID_LABEL,
    CREATOR_ANNOTATION,
    LAST_MODIFIER_ANNOTATION,
    ROUTES_ANNOTATION,
    ROUTING_STATE_LABEL,
    ROUTING_STATE_MODIFIED_ANNOTATION,
    SERVICE_LABEL,
    SERVICE_UID_LABEL,
)
from knpy.controller.serving.gc import collectable, parse_time
from knpy.controller.serving.resources import CONFIGURATIONS, REVISIONS
from knpy.runtime.k8s import (
    NORMAL,
    WARNING,
    ApiError,
    Client,
    Lister,
    Reconciler,
    Recorder,
    is_controlled_by,
    owner_reference,
)
from knpy.runtime.k8s.naming import child_name
from knpy.runtime.k8s.resources import Obj

__all__ = ["ConfigurationReconciler", "make_revision", "revision_name"]

READY = "Ready"


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def revision_name(cfg: Configuration) -> str:
    """The template's BYO name, else `<config>-<generation, 5 digits>` (kmeta.ChildName)."""
    return cfg.template.name or child_name(cfg.name, f"-{cfg.generation:05d}")


def make_revision(cfg: Configuration, now: str) -> dict[str, Any]:
    """Knative's MakeRevision: the template's metadata and spec, labelled with its
    Configuration (and Service), routingState pending, owned by the Configuration."""
    tmd = copy.deepcopy(cfg.template.metadata)
    labels = {**(tmd.get("labels") or {}),
              CONFIGURATION_LABEL: cfg.name,
              CONFIGURATION_GENERATION_LABEL: str(cfg.generation),
              CONFIGURATION_UID_LABEL: cfg.metadata.get("uid", ""),
              ROUTING_STATE_LABEL: "pending"}
    if cfg.service_name:
        labels[SERVICE_LABEL] = cfg.service_name
        labels[SERVICE_UID_LABEL] = cfg.labels.get(SERVICE_UID_LABEL, "")
    ann = {**(tmd.get("annotations") or {}), ROUTING_STATE_MODIFIED_ANNOTATION: now}
    if cfg.annotations.get(LAST_MODIFIER_ANNOTATION):
        ann[CREATOR_ANNOTATION] = cfg.annotations[LAST_MODIFIER_ANNOTATION]
    if cfg.annotations.get(ROUTES_ANNOTATION):
        ann[ROUTES_ANNOTATION] = cfg.annotations[ROUTES_ANNOTATION]
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Revision",
            "metadata": {"name": revision_name(cfg), "namespace": cfg.namespace,
                         "labels": labels, "annotations": ann,
                         "ownerReferences": [owner_reference(cfg.raw)]},
            "spec": copy.deepcopy(cfg.template.spec.raw)}


def _generation(rev: Obj) -> int:
    try:
        return int((rev["metadata"].get("labels") or {}).get(CONFIGURATION_GENERATION_LABEL,
                                                              ""))
    except (TypeError, ValueError):
        return 0


def _ready(rev: Obj) -> dict[str, Any] | None:
    for c in (rev.get("status") or {}).get("conditions") or []:
        if c.get("type") == READY:
            return c
    return None


class ConfigurationReconciler(Reconciler[Configuration]):
    def __init__(self, client: Client, lister: Lister, recorder: Recorder, *,
                 revisions: Lister, clock: Callable[[], str] = _now,
                 gc: Callable[[], GCConfig] | None = None) -> None:
        super().__init__(client, lister, CONFIGURATIONS, Configuration, recorder,
                         name="configuration")
        self.revisions = revisions
        self.clock = clock
        self.gc = gc

    async def reconcile_kind(self, cfg: Configuration) -> None:
        st = cfg.status
        name = revision_name(cfg)
        rev = self.revisions.get(cfg.namespace, name) or self._created_at_generation(cfg)
        if rev is not None:
            name = rev["metadata"]["name"]
        if rev is None:
            try:
                rev = await self.client.create(REVISIONS, make_revision(cfg, self.clock()))
            except ApiError as exc:
                st.mark_revision_creation_failed(str(exc))
                if exc.already_exists:
                    return  # a name another object holds: nothing a retry fixes
                await self.recorder.event(cfg.raw, WARNING, "CreationFailed",
                                          f"Failed to create Revision: {exc}")
                raise
            await self.recorder.event(cfg.raw, NORMAL, "Created",
                                      f"Created Revision {name!r}")
        elif not self._ours_at_generation(cfg, rev):
            st.mark_revision_creation_failed(
                f"revisions.serving.knative.dev {name!r} already exists and belongs to "
                "another Configuration or generation")
            return
        st.set_latest_created_revision_name(name)
        cond = _ready(rev)
        if cond is not None and cond.get("status") == "False":
            before = copy.deepcopy(st.conditions.get(READY))
            st.mark_latest_created_failed(name, cond.get("message", ""))
            if before != st.conditions.get(READY):
                await self.recorder.event(cfg.raw, WARNING, "LatestCreatedFailed",
                                          f"Latest created revision {name!r} has failed")
        await self._latest_ready(cfg)
        if self.gc is not None:
            await self._collect(cfg, self.gc())

    async def _collect(self, cfg: Configuration, gc: GCConfig) -> None:
        now = parse_time(self.clock())
        assert now is not None
        for name in collectable(gc, cfg.raw, self.revisions.list(cfg.namespace), now):
            try:
                await self.client.delete(REVISIONS, cfg.namespace, name)
            except ApiError as exc:
                if not exc.not_found:
                    raise
            await self.recorder.event(cfg.raw, NORMAL, "RevisionGarbageCollected",
                                      f"Deleted Revision {name!r} (config-gc)")

    def _created_at_generation(self, cfg: Configuration) -> Obj | None:
        """Knative's latestCreatedRevision: the Revision this Configuration made for this
        generation whatever its name (one a knpy before kmeta.ChildName names made under
        the sha256 form, on an upgraded cluster), so it is not made twice."""
        gen = str(cfg.generation)
        for rev in self.revisions.list(cfg.namespace, lambda r: is_controlled_by(r, cfg.raw)):
            if (rev["metadata"].get("labels") or {}).get(CONFIGURATION_GENERATION_LABEL) == gen:
                return rev
        return None

    @staticmethod
    def _ours_at_generation(cfg: Configuration, rev: Obj) -> bool:
        """Knative's CheckNameAvailability: controlled by this Configuration, and made for
        this generation or (a BYO name kept across generations) with the same spec."""
        if not is_controlled_by(rev, cfg.raw):
            return False
        labels = rev["metadata"].get("labels") or {}
        if labels.get(CONFIGURATION_GENERATION_LABEL) == str(cfg.generation):
            return True
        return bool(cfg.template.name) and rev.get("spec") == cfg.template.spec.raw

    async def _latest_ready(self, cfg: Configuration) -> None:
        """The newest ready Revision becomes latestReady (findAndSetLatestReadyRevision):
        never one older than the current latestReady."""
        st = cfg.status
        current = st.latest_ready_revision_name
        cur = self.revisions.get(cfg.namespace, current) if current else None
        floor = _generation(cur) if cur is not None else 0
        mine = sorted((r for r in self.revisions.list(cfg.namespace)
                       if (r["metadata"].get("labels") or {}).get(CONFIGURATION_LABEL)
                       == cfg.name and _generation(r) >= floor),
                      key=_generation, reverse=True)
        for r in mine:
            cond = _ready(r)
            if cond is not None and cond.get("status") == "True":
                new = r["metadata"]["name"]
                if not current:
                    await self.recorder.event(cfg.raw, NORMAL, "ConfigurationReady",
                                              "Configuration becomes ready")
                st.set_latest_ready_revision_name(new)
                if new != current:
                    await self.recorder.event(cfg.raw, NORMAL, "LatestReadyUpdate",
                                              f"LatestReadyRevisionName updated to {new!r}")
                return
        if current and cur is None:
            st.mark_latest_ready_deleted()
