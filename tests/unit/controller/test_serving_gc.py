"""Revision GC (config-gc): what is collected, in which order, and the Configuration
reconciler deleting it."""

from __future__ import annotations

import datetime as dt

from knpy.apis.serving.config_gc import GCConfig, parse_gc_config
from knpy.apis.serving.v1.register import (
    CONFIGURATION_GENERATION_LABEL,
    CONFIGURATION_LABEL,
    NO_GC_ANNOTATION,
    ROUTING_STATE_LABEL,
    ROUTING_STATE_MODIFIED_ANNOTATION,
)
from knpy.controller.serving.configuration import ConfigurationReconciler
from knpy.controller.serving.gc import collectable
from knpy.controller.serving.resources import CONFIGURATIONS, REVISIONS
from knpy.runtime.k8s import Lister
from knpy.runtime.k8s.testing import Row, World, run_row

NOW = dt.datetime(2026, 1, 10, tzinfo=dt.UTC)


def ago(hours: float) -> str:
    return (NOW - dt.timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def rev(name: str, created_h: float, active_h: float | None = None, *, state: str = "reserve",
        no_gc: bool = False, cfg: str = "hello", gen: int = 1) -> dict:
    ann = {}
    if active_h is not None:
        ann[ROUTING_STATE_MODIFIED_ANNOTATION] = ago(active_h)
    if no_gc:
        ann[NO_GC_ANNOTATION] = "true"
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Revision",
            "metadata": {"name": name, "namespace": "ns", "creationTimestamp": ago(created_h),
                         "annotations": ann,
                         "ownerReferences": [{"apiVersion": "serving.knative.dev/v1",
                                              "kind": "Configuration", "name": cfg,
                                              "uid": f"{cfg}-uid", "controller": True}],
                         "labels": {CONFIGURATION_LABEL: cfg, ROUTING_STATE_LABEL: state,
                                    CONFIGURATION_GENERATION_LABEL: str(gen)}},
            "spec": {"containers": [{"image": "i"}]}}


def config(created: str = "hello-00009", ready: str = "hello-00008") -> dict:
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Configuration",
            "metadata": {"name": "hello", "namespace": "ns", "uid": "hello-uid", "generation": 9},
            "spec": {"template": {"spec": {"containers": [{"image": "i"}]}}},
            "status": {"observedGeneration": 9, "latestCreatedRevisionName": created,
                       "latestReadyRevisionName": ready,
                       "conditions": [{"type": "Ready", "status": "Unknown"}]}}


MIN0 = parse_gc_config({"min-non-active-revisions": "0"})
OLD = 5 * 24.0  # hours: past both retain times


def test_stale_revisions_go_and_the_protected_ones_stay() -> None:
    revs = [rev("hello-00008", OLD), rev("hello-00009", OLD),  # latest ready / created
            rev("hello-00001", OLD),                            # stale: collected
            rev("hello-00002", OLD, active_h=1),                # active an hour ago
            rev("hello-00003", OLD, no_gc=True),                # no-gc
            rev("hello-00004", OLD, state="active"),            # still routed
            rev("hello-00005", 1),                              # created an hour ago
            rev("other-00001", OLD, cfg="other")]               # another Configuration's
    assert collectable(MIN0, config(), revs, NOW) == ["hello-00001"]


def test_min_non_active_keeps_the_most_recently_active() -> None:
    cfg = parse_gc_config({"min-non-active-revisions": "1"})
    revs = [rev("hello-00001", OLD, active_h=100), rev("hello-00002", OLD, active_h=90),
            rev("hello-00003", OLD, active_h=80)]
    assert collectable(cfg, config(), revs, NOW) == ["hello-00002", "hello-00001"]


def test_max_non_active_trims_the_oldest_first_even_when_fresh() -> None:
    cfg = parse_gc_config({"min-non-active-revisions": "0", "max-non-active-revisions": "1",
                           "retain-since-create-time": "disabled",
                           "retain-since-last-active-time": "disabled"})
    revs = [rev("hello-00001", 3), rev("hello-00002", 2), rev("hello-00003", 1)]
    assert collectable(cfg, config(), revs, NOW) == ["hello-00001", "hello-00002"]


def test_defaults_keep_twenty_and_disabled_keeps_everything() -> None:
    revs = [rev(f"hello-{i:05d}", OLD) for i in range(1, 8)]
    assert collectable(GCConfig(), config(), revs, NOW) == []
    off = parse_gc_config({"min-non-active-revisions": "0", "max-non-active-revisions":
                           "disabled", "retain-since-create-time": "disabled",
                           "retain-since-last-active-time": "disabled"})
    assert collectable(off, config(), revs, NOW) == []


def factory(world: World) -> ConfigurationReconciler:
    def lst(res):
        return world.listers.setdefault(res.plural, Lister(res))
    return ConfigurationReconciler(world.client, lst(CONFIGURATIONS), world.recorder,
                                   revisions=lst(REVISIONS), clock=lambda: ago(0),
                                   gc=lambda: MIN0)


async def test_configuration_reconcile_deletes_what_gc_collects() -> None:
    ready = {"conditions": [{"type": "Ready", "status": "True"}]}
    objects = [(CONFIGURATIONS, config("hello-00009", "hello-00009")),
               (REVISIONS, {**rev("hello-00009", 1, gen=9), "status": ready}),
               (REVISIONS, rev("hello-00001", OLD))]
    await run_row(Row("a stale revision is deleted", key="ns/hello", objects=objects,
                      want_status_updates=[{**config(), "status": {
                          "observedGeneration": 9, "latestCreatedRevisionName": "hello-00009",
                          "latestReadyRevisionName": "hello-00009",
                          "conditions": [{"type": "Ready", "status": "True"}]}}],
                      want_deletes=["revisions/ns/hello-00001"],
                      want_events=["Normal RevisionGarbageCollected Deleted Revision "
                                   "'hello-00001' (config-gc)"]), factory)


def test_the_latest_created_and_ready_are_never_candidates() -> None:
    revs = [rev("hello-00009", OLD, gen=9), rev("hello-00008", OLD)]
    assert collectable(MIN0, config(), revs, NOW) == []
