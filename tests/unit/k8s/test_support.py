"""Leader election, ConfigStore, owner references, keys (against FakeClient)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import pytest

from knpy.runtime.config import ConfigMapReader
from knpy.runtime.k8s import (
    ConfigStore,
    LeaderElector,
    is_controlled_by,
    key_of,
    owner_reference,
    split_key,
)
from knpy.runtime.k8s.testing import FakeClient
from tests.support.poll import eventually


def test_keys() -> None:
    assert key_of({"metadata": {"namespace": "ns", "name": "a"}}) == "ns/a"
    assert key_of({"metadata": {"name": "cluster"}}) == "cluster"
    assert split_key("ns/a") == ("ns", "a")
    assert split_key("cluster") == ("", "cluster")
    with pytest.raises(ValueError, match="malformed key"):
        split_key("a/b/c")


def test_owner_reference() -> None:
    owner = {"apiVersion": "eventing.knative.dev/v1", "kind": "Broker",
             "metadata": {"name": "b", "uid": "u1"}}
    child = {"metadata": {"ownerReferences": [owner_reference(owner)]}}
    assert child["metadata"]["ownerReferences"][0]["controller"] is True
    assert is_controlled_by(child, owner)
    assert not is_controlled_by(child, {"metadata": {"uid": "u2"}})


async def test_leader_election_one_leader_then_failover_on_release() -> None:
    c = FakeClient()
    events: list[str] = []
    a = LeaderElector(c, "sys", "ctl", identity="a", lease_duration=1.0,
                      renew_deadline=0.5, retry_period=0.05,
                      on_started_leading=lambda: events.append("a leads"),
                      on_stopped_leading=lambda: events.append("a stops"))
    b = LeaderElector(c, "sys", "ctl", identity="b", lease_duration=1.0,
                      renew_deadline=0.5, retry_period=0.05,
                      on_started_leading=lambda: events.append("b leads"))
    ta = asyncio.create_task(a.run())
    await eventually(lambda: a.is_leader, 3, "a leading")
    tb = asyncio.create_task(b.run())
    renewals: set[str] = set()

    def a_renewed_while_b_polls() -> bool:  # both poll every 50 ms
        renewals.add(c.store[("leases", "sys", "ctl")]["spec"]["renewTime"])
        return len(renewals) >= 4
    await eventually(a_renewed_while_b_polls, 3, "a renewing its lease")
    assert a.is_leader and not b.is_leader
    assert events == ["a leads"]
    ta.cancel()  # a clean stop releases the lease
    await asyncio.gather(ta, return_exceptions=True)
    await eventually(lambda: b.is_leader, 3)
    lease = c.store[("leases", "sys", "ctl")]
    assert lease["spec"]["holderIdentity"] == "b"
    assert lease["spec"]["leaseTransitions"] == 1
    tb.cancel()
    await asyncio.gather(tb, return_exceptions=True)


async def test_leader_takes_over_an_expired_lease_of_a_crashed_holder() -> None:
    c = FakeClient()
    c.seed(__import__("knpy.runtime.k8s", fromlist=["LEASES"]).LEASES, {
        "metadata": {"name": "ctl", "namespace": "sys"},
        "spec": {"holderIdentity": "dead", "leaseDurationSeconds": 1,
                 "renewTime": "2020-01-01T00:00:00.000000Z", "leaseTransitions": 4}})
    b = LeaderElector(c, "sys", "ctl", identity="b", lease_duration=2.0,
                      renew_deadline=1.0, retry_period=0.05)
    started = time.monotonic()
    tb = asyncio.create_task(b.run())
    await eventually(lambda: b.is_leader, 5)
    # the dead holder's leaseDurationSeconds (1), counted from when b first saw the lease
    assert time.monotonic() - started >= 1.0, "waits a full lease duration as observed locally"
    assert c.store[("leases", "sys", "ctl")]["spec"]["leaseTransitions"] == 5
    tb.cancel()
    await asyncio.gather(tb, return_exceptions=True)


async def test_an_api_outage_demotes_the_leader_which_contends_again_after_it() -> None:
    """The API server unreachable for longer than the renew deadline: the leader steps down
    and keeps trying (no exception ends run(), so the process lives on), then leads again."""
    c = FakeClient()
    events: list[str] = []
    a = LeaderElector(c, "sys", "ctl", identity="a", lease_duration=1.0,
                      renew_deadline=0.5, retry_period=0.05,
                      on_started_leading=lambda: events.append("leads"),
                      on_stopped_leading=lambda: events.append("stops"))
    ta = asyncio.create_task(a.run())
    await eventually(lambda: a.is_leader, 3, "a leading")
    c.fail("get", "leases", ConnectionRefusedError("connect call failed"), times=30)
    await eventually(lambda: events == ["leads", "stops"], 3, "a stepping down")
    await eventually(lambda: a.is_leader, 5, "a leading again once the server is back")
    assert not ta.done(), "run() ended during the outage"
    assert events == ["leads", "stops", "leads"]
    ta.cancel()
    await asyncio.gather(ta, return_exceptions=True)


@dataclass(frozen=True)
class Cfg:
    host: str
    workers: int


def parse_cfg(data) -> Cfg:
    r = ConfigMapReader("config-x", data)
    cfg = Cfg(r.string("host", "default.host"), r.integer("workers", 2, minimum=1))
    r.raise_if_errors()
    return cfg


def test_configstore_applies_keeps_last_good_and_resets_on_delete() -> None:
    changes: list[tuple[str, Cfg]] = []
    store = ConfigStore(None, "sys", {"config-x": parse_cfg},
                        on_change=lambda n, c: changes.append((n, c)))
    assert store.get("config-x") == Cfg("default.host", 2)
    cm = {"metadata": {"name": "config-x", "namespace": "sys"},
          "data": {"host": "h", "workers": "4"}}
    store.apply(cm)
    assert store.get("config-x") == Cfg("h", 4)
    store.apply({**cm, "data": {"workers": "zero"}})
    assert store.get("config-x") == Cfg("h", 4), "a bad ConfigMap keeps the last good config"
    assert "config-x[workers]" in str(store.errors["config-x"])
    store.apply({"metadata": {"name": "unrelated"}, "data": {}})
    store._deleted(cm)
    assert store.get("config-x") == Cfg("default.host", 2)
    assert [c for _, c in changes] == [Cfg("h", 4), Cfg("default.host", 2)]


async def test_a_cancel_that_lands_as_a_lease_call_completes_still_stops_the_elector() -> None:
    """On 3.11, asyncio.wait_for returns the inner result when the cancel and the
    completion meet, swallowing the cancel: the elector then contended forever."""
    c = FakeClient()
    b = LeaderElector(c, "sys", "ctl", identity="b", lease_duration=1.0,
                      renew_deadline=0.5, retry_period=0.05)
    task = asyncio.create_task(b.run())
    real_get = c.get

    async def get(*args: object, **kwargs: object) -> object:
        task.cancel()  # the stop arrives while the API call completes
        return await real_get(*args, **kwargs)
    c.get = get  # type: ignore[method-assign]
    await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 5)
    assert task.cancelled()
