"""The multiscaler's pipeline in-process with a fake clock: activator stats -> poke ->
decision -> scale target, and the two-step scale to zero."""

from __future__ import annotations

import aiohttp

from knpy.apis.autoscaling.config import parse_autoscaler_config
from knpy.autoscaler.multiscaler import Multiscaler, RevisionSpec
from knpy.autoscaler.scaletarget import Pod, StaticScaleTarget
from knpy.runtime.contract.stat import Stat
from knpy.runtime.contract.wirestat import WireStatMessage


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class RecordingTarget(StaticScaleTarget):
    """Pods "become ready" as soon as they are asked for (no processes)."""

    def __init__(self) -> None:
        super().__init__([])
        self.calls: list[int] = []

    async def set_scale(self, replicas: int) -> None:
        self.calls.append(replicas)
        self._desired = replicas
        self._pods = [Pod(f"p{i}", f"127.0.0.1:{i}", "") for i in range(replicas)]


CONFIG = parse_autoscaler_config({"stable-window": "6s", "scale-to-zero-grace-period": "6s",
                                  "initial-scale": "0", "allow-zero-initial-scale": "true"})
SPEC = RevisionSpec("ns", "rev", {"autoscaling.knative.dev/target": "1",
                                  "autoscaling.knative.dev/target-utilization-percentage": "100"})


def activator(concurrency: float) -> list[WireStatMessage]:
    return [WireStatMessage("ns", "rev", Stat("activator", concurrency, 0, concurrency))]


async def test_poke_scale_up_and_two_step_scale_to_zero() -> None:
    clock = Clock()
    async with aiohttp.ClientSession() as session:
        ms = Multiscaler(CONFIG, session, clock=clock)
        target = RecordingTarget()
        rev = await ms.register(SPEC, target)
        assert target.calls == []  # initial-scale 0: nothing started

        ms.record_activator_stats(activator(2.0))
        assert rev.poke is not None
        await rev.poke  # the immediate decision
        assert target.calls == [2] and rev.status()["mode"] == "Proxy"  # EBC < 0

        # Unknown revisions and messages without a stat are ignored.
        ms.record_activator_stats([WireStatMessage("x", "y", Stat(average_concurrent_requests=5)),
                                   WireStatMessage("ns", "rev", None)])

        async def idle_tick() -> None:
            # Two seconds of pods scraped at zero concurrency, then a decision.
            for _ in range(2):
                clock.now += 1
                rev.collection.record(clock.now, Stat())
            await ms.decide(rev)

        # Load stops; the stable average drains, the revision keeps 1 pod while active.
        for _ in range(4):
            await idle_tick()
        assert target.calls[-1] == 1
        while rev.status()["activation"] != "Inactive":
            await idle_tick()
            assert clock.now < 1100
        inactive_at = clock.now
        while target.desired != 0:
            await idle_tick()
            assert clock.now < 1100
        # The activator has been in the path (Proxy) since the poke, longer than the 6 s
        # grace period, so Knative's fast path applies: zero on the next decision.
        assert clock.now - inactive_at == 2
        assert target.calls == [2, 1, 0]
        st = rev.status()
        assert (st["activation"], st["mode"], st["reason"]) == ("Inactive", "Proxy",
                                                                 "scale to zero")
        await ms.close()
        assert ms.revisions == {}
