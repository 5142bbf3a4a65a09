"""ConfigMapSource: what the broker takes from the contract ConfigMap it watches (the
watch itself runs against a real API server in tests/integration/broker), and PodReport,
what it writes back onto its Pod."""

from __future__ import annotations

import json

from knpy.broker.contract_source import ConfigMapSource
from knpy.broker.report import PodReport
from knpy.runtime.contract.eventing import (
    CONTRACT_KEY,
    GENERATION_ANNOTATION,
    SOURCE_ANNOTATION,
)
from knpy.runtime.k8s import ApiError


def cm(rv: str, gen: str, doc: object) -> dict:
    return {"metadata": {"name": "contract", "namespace": "sys", "resourceVersion": rv,
                         "uid": "u1",
                         "annotations": {GENERATION_ANNOTATION: gen}},
            "data": {CONTRACT_KEY: doc if isinstance(doc, str) else json.dumps(doc)}}


def test_generations_follow_the_configmap_and_a_bad_one_keeps_the_last_good() -> None:
    src = ConfigMapSource(client=None, namespace="sys", name="contract")  # type: ignore[arg-type]
    first = src.changed()  # not written yet: serve nothing, once
    assert first is not None and first.generation == 0 and not first.contract.brokers
    assert src.changed() is None
    src.informer.lister.put(cm("5", "3", {"brokers": [{"namespace": "d", "name": "b"}]}))
    got = src.changed()
    assert got is not None and got.generation == 3 and got.contract.brokers[0].key == "d/b"
    assert got.uid == "u1"
    assert src.changed() is None, "same resourceVersion: nothing new"
    src.informer.lister.put(cm("6", "4", {"brokers": "nonsense"}))
    assert src.changed() is None, "rejected: the last good contract stays"
    src.informer.lister.remove(cm("6", "4", {}))
    assert src.changed() is None, "deleted: the controller writes it back; keep serving"


class FakePods:
    """Records merge patches; fails the first `failures` of them with 403."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.patches: list[tuple[str, str, dict]] = []

    async def patch(self, res, namespace: str, name: str, patch: dict) -> dict:
        if self.failures:
            self.failures -= 1
            raise ApiError(403, "Forbidden")
        self.patches.append((namespace, name, patch))
        return {}


async def test_the_pod_report_is_written_once_per_generation_and_retried() -> None:
    pods = FakePods(failures=1)
    rep = PodReport(pods, "sys", "broker-ingress-0")  # type: ignore[arg-type]
    assert not await rep.serving(4, "u1"), "a failed write is retried by the caller"
    assert await rep.serving(4, "u1") and await rep.serving(4, "u1")
    assert await rep.serving(5, "u1")
    assert pods.patches == [
        ("sys", "broker-ingress-0", {"metadata": {"annotations": {
            GENERATION_ANNOTATION: str(g), SOURCE_ANNOTATION: "u1"}}}) for g in (4, 5)]
