"""Controller metrics from the runtime: every Controller counts its reconciles by result,
times them and reports its queue depth, with no code in the reconciler."""

from __future__ import annotations

import asyncio

from knpy.runtime.k8s import Controller, PermanentError, RequeueAfter, SkipKey
from knpy.runtime.k8s import metrics as k8s_metrics
from tests.support.prom import parse, value


class Scripted:
    """Raises what `outcomes` maps the key to (nothing: success)."""

    name = "scripted-test"

    def __init__(self) -> None:
        self.outcomes: dict[str, BaseException] = {
            "ns/requeue": RequeueAfter(60), "ns/skip": SkipKey(),
            "ns/perm": PermanentError("no"), "ns/err": RuntimeError("boom")}

    async def reconcile(self, key: str) -> None:
        await asyncio.sleep(0)
        exc = self.outcomes.get(key)
        if exc is not None:
            raise exc


def scrape() -> dict:
    return parse(k8s_metrics.render().decode())[0]


async def test_reconciles_counted_by_result_and_timed() -> None:
    c = Controller(Scripted())
    before = scrape()
    for key in ("ns/ok", "ns/ok2", "ns/requeue", "ns/skip", "ns/perm", "ns/err"):
        await c.process(key)
    after = scrape()

    def moved(name: str, **labels: str) -> float:
        return (value(after, name, reconciler="scripted-test", **labels)
                - value(before, name, reconciler="scripted-test", **labels))

    for result, n in (("success", 2), ("requeue", 1), ("skip", 1), ("permanent_error", 1),
                      ("error", 1)):
        assert moved("controller_reconciles_total", result=result) == n, result
    assert moved("controller_reconcile_duration_seconds_count") == 6
    assert moved("controller_reconcile_duration_seconds_bucket", le="+Inf") == 6
    await c.queue.shutdown()


async def test_queue_depth_reported_per_reconciler() -> None:
    c = Controller(Scripted(), name="depth-test")
    for key in ("a/1", "a/2", "a/3"):
        c.enqueue_key(key)
    c.queue.add_slow("a/4")
    assert value(scrape(), "controller_workqueue_depth", reconciler="depth-test") == 4
    await c.queue.get()
    assert value(scrape(), "controller_workqueue_depth", reconciler="depth-test") == 3
    await c.queue.shutdown()
