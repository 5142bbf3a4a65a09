"""The autoscaler's Prometheus gauges issue 13 names, per revision: desired, actual
(Knative's: ready), ready and not-ready pods, panic mode, stable and panic concurrency,
excess burst capacity, read from the revisions at scrape time."""

from __future__ import annotations

import aiohttp

from knpy.autoscaler.deploymenttarget import DeploymentScaleTarget
from knpy.autoscaler.multiscaler import Multiscaler
from knpy.autoscaler.server import metrics_registry
from knpy.runtime.contract.stat import Stat
from tests.support.prom import parse, value
from tests.unit.autoscaler.test_deploymenttarget import ScaleAPI, eps
from tests.unit.autoscaler.test_multiscaler import CONFIG, SPEC, Clock


async def test_pod_counts_decision_and_averages_per_revision() -> None:
    clock = Clock()
    target = DeploymentScaleTarget(ScaleAPI(), "ns", "rev")
    # one pod ready, two started but not ready (a scale-up under way)
    target.set_endpoints(eps({"addresses": [{"ip": "10.0.0.1"}],
                              "notReadyAddresses": [{"ip": "10.0.0.2"}, {"ip": "10.0.0.3"}],
                              "ports": [{"name": "http", "port": 8012}]}))
    async with aiohttp.ClientSession() as session:
        ms = Multiscaler(CONFIG, session, clock=clock)
        rev = await ms.register(SPEC, target)
        reg = metrics_registry(ms)
        samples, types = parse(reg.render().decode())
        labels = {"namespace_name": "ns", "revision_name": "rev"}
        assert value(samples, "autoscaler_ready_pods", **labels) == 1
        assert value(samples, "autoscaler_actual_pods", **labels) == 1  # Knative's: ready
        assert value(samples, "autoscaler_not_ready_pods", **labels) == 2
        assert value(samples, "autoscaler_desired_pods", **labels) == -1  # no decision yet

        for _ in range(2):  # 4 requests in flight at target 1 on 1 ready pod: panic
            clock.now += 1
            rev.collection.record(clock.now, Stat(average_concurrent_requests=4.0))
        await ms.decide(rev)
        samples, _ = parse(reg.render().decode())
        for name, want in (("autoscaler_desired_pods", 4), ("autoscaler_panic_mode", 1),
                           ("autoscaler_stable_request_concurrency", 4),
                           ("autoscaler_panic_request_concurrency", 4),
                           ("autoscaler_requested_pods", 4)):
            assert value(samples, name, **labels) == want, name
        # EBC = floor(1 ready pod x total 1 - TBC 211 - panic concurrency 4)
        assert value(samples, "autoscaler_excess_burst_capacity", **labels) == 1 - 211 - 4
        assert {n: types[n] for n in ("autoscaler_ready_pods", "autoscaler_not_ready_pods")} \
            == {"autoscaler_ready_pods": "gauge", "autoscaler_not_ready_pods": "gauge"}
        await ms.close()
