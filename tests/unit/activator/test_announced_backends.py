"""Announced pods (revisions.py): a backend until the source lists the pod, or for at most
ANNOUNCE_TTL; never for a revision the activator does not know."""

from __future__ import annotations

import asyncio

import pytest

from knpy.activator import revisions as revisions_mod
from knpy.activator.prober import Prober
from knpy.activator.revisions import RevisionConfig, Revisions
from knpy.activator.stats import ConcurrencyReporter


async def _revisions() -> Revisions:
    async def probe(dest: str, _limit: float) -> bool:
        return True

    loop = asyncio.get_running_loop()
    revs = Revisions(Prober(period=0.01, probe=probe),
                     ConcurrencyReporter("act", [].append, loop.time))
    revs.upsert(RevisionConfig("ns", "r"))
    return revs


async def _assigned(revs: Revisions) -> list[str]:
    await asyncio.sleep(0.05)  # the prober's first round
    rt = revs.get("ns/r")
    assert rt is not None
    return sorted(t.dest for t in rt.assigned)


async def test_an_announced_pod_serves_until_the_source_lists_it() -> None:
    revs = await _revisions()
    assert not revs.announce("ns/unknown", "10.0.0.1:8012")
    assert revs.announce("ns/r", "10.0.0.1:8012")
    assert await _assigned(revs) == ["10.0.0.1:8012"]
    # a source update that does not list it yet (another pod's) keeps it
    revs.set_backends("ns/r", ["10.0.0.2:8012"])
    assert await _assigned(revs) == ["10.0.0.1:8012", "10.0.0.2:8012"]
    # listed (not ready yet): the source owns it from now on
    revs.set_backends("ns/r", ["10.0.0.2:8012"], ["10.0.0.1:8012"])
    revs.set_backends("ns/r", ["10.0.0.2:8012"])  # ...and takes it away
    assert await _assigned(revs) == ["10.0.0.2:8012"]
    # announcing a pod the source lists already changes nothing
    assert revs.announce("ns/r", "10.0.0.2:8012")
    revs.set_backends("ns/r", [])
    assert await _assigned(revs) == []
    revs.close()


async def test_an_announced_pod_never_listed_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(revisions_mod, "ANNOUNCE_TTL", 0.2)
    revs = await _revisions()
    revs.announce("ns/r", "10.0.0.7:8012")
    assert await _assigned(revs) == ["10.0.0.7:8012"]
    await asyncio.sleep(0.3)
    assert await _assigned(revs) == []
    # a removed revision forgets its announcements
    revs.announce("ns/r", "10.0.0.8:8012")
    revs.remove("ns/r")
    revs.upsert(RevisionConfig("ns", "r"))
    revs.set_backends("ns/r", [])
    assert await _assigned(revs) == []
    revs.close()
