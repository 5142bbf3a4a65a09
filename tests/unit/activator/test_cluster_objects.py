"""Cluster mode's object readers: Revision settings, ready Endpoints addresses."""

from __future__ import annotations

from knpy.activator.cluster import ready_addresses, ready_ips, revision_config
from knpy.activator.revisions import RevisionConfig


def test_revision_config_defaults() -> None:
    rev = {"metadata": {"namespace": "ns", "name": "r"}, "spec": {}}
    assert revision_config(rev) == RevisionConfig("ns", "r", 0, 300.0)
    rev["spec"] = {"containerConcurrency": 4, "timeoutSeconds": 30}
    assert revision_config(rev) == RevisionConfig("ns", "r", 4, 30.0)


def test_ready_addresses_use_the_http_port_and_skip_not_ready() -> None:
    ep = {"subsets": [
        {"addresses": [{"ip": "10.0.0.2"}, {"ip": "10.0.0.1"}],
         "notReadyAddresses": [{"ip": "10.0.0.9"}],
         "ports": [{"name": "http-autometric", "port": 9090}, {"name": "http", "port": 8012}]},
        {"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 8012}]},
        {"addresses": [{"ip": "10.0.0.5"}]},  # no ports: unusable
    ]}
    assert ready_addresses(ep) == ["10.0.0.1:8012", "10.0.0.2:8012", "[fd00::1]:8012"]
    assert ready_ips(ep) == ["10.0.0.1", "10.0.0.2", "10.0.0.5", "fd00::1"]
    assert ready_addresses({}) == []


async def test_not_ready_pods_take_requests_once_they_pass_the_probe() -> None:
    """A starting pod is a backend from its first Endpoints entry (notReadyAddresses): it is
    assigned as soon as our probe passes, before the kubelet calls it ready; a pod the
    kubelet moves from ready to not ready leaves rotation until it passes again."""
    import asyncio

    from knpy.activator.cluster import ClusterSource
    from knpy.activator.prober import Prober
    from knpy.activator.revisions import Revisions
    from knpy.activator.stats import ConcurrencyReporter

    answering: set[str] = set()

    async def probe(dest: str, _limit: float) -> bool:
        return dest in answering

    loop = asyncio.get_running_loop()
    revisions = Revisions(Prober(period=0.01, probe=probe),
                          ConcurrencyReporter("act", [].append, loop.time))
    src = ClusterSource(revisions, "knpy-system")
    src.on_revision({"metadata": {"namespace": "ns", "name": "r"}, "spec": {}})

    def endpoints(ready: list[str], unready: list[str]) -> dict:
        return {"metadata": {"namespace": "ns", "name": "r-private",
                             "labels": {"serving.knative.dev/revision": "r"}},
                "subsets": [{"addresses": [{"ip": i} for i in ready],
                             "notReadyAddresses": [{"ip": i} for i in unready],
                             "ports": [{"name": "http", "port": 8012}]}]}

    async def assigned() -> list[str]:
        await asyncio.sleep(0.05)
        rt = revisions.get("ns/r")
        assert rt is not None
        return sorted(t.dest for t in rt.assigned)

    src.on_endpoints(endpoints([], ["10.0.0.1"]))
    assert await assigned() == []  # its queue-proxy does not answer yet
    answering.add("10.0.0.1:8012")
    assert await assigned() == ["10.0.0.1:8012"]  # before the kubelet calls it ready
    src.on_endpoints(endpoints([], ["10.0.0.1"]))  # an unrelated update: it stays
    assert await assigned() == ["10.0.0.1:8012"]
    src.on_endpoints(endpoints(["10.0.0.1"], []))
    assert await assigned() == ["10.0.0.1:8012"]
    answering.clear()
    src.on_endpoints(endpoints([], ["10.0.0.1"]))  # the kubelet says it is not ready now
    assert await assigned() == []
    answering.add("10.0.0.1:8012")
    assert await assigned() == ["10.0.0.1:8012"]
    revisions.prober.close()
