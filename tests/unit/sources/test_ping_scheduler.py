"""The multi-tenant ping scheduler driven by a fake clock, sending to a real HTTP sink."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid

import pytest

from knpy.sources.ping import PingScheduler
from knpy.sources.sender import Sender
from tests.unit.sources.conftest import Sink


class FakeClock:
    def __init__(self, t: dt.datetime) -> None:
        self.t = t

    def __call__(self) -> dt.datetime:
        return self.t

    def advance(self, **kw: float) -> dt.datetime:
        self.t += dt.timedelta(**kw)
        return self.t


@pytest.fixture
async def sender():
    s = Sender(retries=0)
    yield s
    await s.close()  # its aiohttp session would otherwise leak past the test


def pingsource(name: str, sink: str, ns: str = "demo", **spec) -> dict:
    return {"apiVersion": "sources.knative.dev/v1", "kind": "PingSource",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"schedule": "*/1 * * * *", **spec}, "status": {"sinkUri": sink}}


async def test_every_minute_fires_with_knative_attributes(sink: Sink, sender: Sender) -> None:
    clock = FakeClock(dt.datetime(2026, 5, 1, 12, 0, 30, tzinfo=dt.UTC))
    sched = PingScheduler(sender, now=clock)
    assert sched.upsert(pingsource("hb", sink.url, data='{"msg":"hi"}',
                                   contentType="application/json"))
    assert sched.tick() == [], "nothing is due before 12:01"
    for _ in range(3):
        clock.advance(minutes=1)
        for t in sched.tick():
            assert await t
    events = await sink.wait_for(3)
    assert [e.get("time") for e in events] == ["2026-05-01T12:01:00Z", "2026-05-01T12:02:00Z",
                                               "2026-05-01T12:03:00Z"]
    e = events[0]
    assert e.type == "dev.knative.sources.ping"
    assert e.source == "/apis/v1/namespaces/demo/pingsources/hb"
    assert e.get("specversion") == "1.0"
    uuid.UUID(e.id)
    assert len({ev.id for ev in events}) == 3, "a fresh id per event"
    assert e.datacontenttype == "application/json"
    assert json.loads(e.data) == {"msg": "hi"}


async def test_data_base64_overrides_and_time_zone(sink: Sink, sender: Sender) -> None:
    clock = FakeClock(dt.datetime(2026, 5, 1, 23, 59, tzinfo=dt.UTC))
    sched = PingScheduler(sender, now=clock)
    raw = bytes(range(5))
    sched.upsert(pingsource("bin", sink.url, schedule="0 9 * * *", timezone="Asia/Tokyo",
                            dataBase64=base64.b64encode(raw).decode(),
                            contentType="application/octet-stream",
                            ceOverrides={"extensions": {"team": "blue"}}))
    assert sched.next_due() == dt.datetime(2026, 5, 2, 0, 0, tzinfo=dt.UTC)
    clock.advance(minutes=1)
    [t] = sched.tick()
    assert await t
    [e] = await sink.wait_for(1)
    assert e.data == raw and e.get("team") == "blue"
    assert e.get("time") == "2026-05-02T00:00:00Z"


async def test_updates_removals_and_missed_ticks(sink: Sink, sender: Sender) -> None:
    clock = FakeClock(dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC))
    sched = PingScheduler(sender, now=clock)
    sched.upsert(pingsource("a", sink.url))
    sched.upsert(pingsource("b", sink.url, schedule="@every 20s"))
    assert sched.keys() == ["demo/a", "demo/b"]
    # a re-sent identical object (informer resync) keeps its place in the schedule
    sched.upsert(pingsource("a", sink.url))
    assert sched.entries["demo/a"].next == dt.datetime(2026, 5, 1, 12, 1, tzinfo=dt.UTC)
    clock.advance(minutes=10)  # asleep for 10 minutes: each fires once, no catch-up burst
    tasks = sched.tick()
    assert len(tasks) == 2
    for t in tasks:
        await t
    assert sched.entries["demo/a"].next == dt.datetime(2026, 5, 1, 12, 11, tzinfo=dt.UTC)
    sched.remove("demo/b")
    assert sched.keys() == ["demo/a"]
    # no sink URI yet (controller has not resolved it), or a bad schedule: not scheduled
    assert not sched.upsert({**pingsource("c", ""), "status": {}})
    assert not sched.upsert(pingsource("a", sink.url, schedule="not cron"))
    assert sched.keys() == []


async def test_a_refusing_sink_is_counted_not_fatal(sink: Sink) -> None:
    clock = FakeClock(dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC))
    sender = Sender(retries=1, backoff=0.01)
    sched = PingScheduler(sender, now=clock)
    sched.upsert(pingsource("a", sink.url))
    sink.status = 400
    clock.advance(minutes=1)
    [t] = sched.tick()
    assert await t is False
    assert sender.stats.failed == 1 and sender.stats.sent == 0
    sink.status = 200
    clock.advance(minutes=1)
    [t] = sched.tick()
    assert await t is True
    await sender.close()


async def test_a_standby_advances_without_sending_then_takes_over(
        sink: Sink, sender: Sender) -> None:
    clock = FakeClock(dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC))
    sched = PingScheduler(sender, now=clock)
    sched.active = False
    sched.upsert(pingsource("a", sink.url))
    clock.advance(minutes=1, seconds=30)
    assert sched.tick() == [] and sink.events == []
    assert sched.entries["demo/a"].next == dt.datetime(2026, 5, 1, 12, 2, tzinfo=dt.UTC)
    sched.set_active(True)  # leadership gained: no burst for what the old leader sent
    assert sched.tick() == []
    clock.advance(seconds=30)
    [t] = sched.tick()
    assert await t
    [e] = await sink.wait_for(1)
    assert e.get("time") == "2026-05-01T12:02:00Z"
