"""Cluster mode's object readers: Revision settings, ready Endpoints addresses."""

from __future__ import annotations

from knpy.activator.cluster import ready_addresses, ready_ips, revision_config, slice_addresses
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


def eslice(name: str, endpoints: list[dict], ports: list[dict] | None = None,
           rev: str = "r") -> dict:
    return {"metadata": {"namespace": "ns", "name": name,
                         "labels": {"serving.knative.dev/revision": rev}},
            "addressType": "IPv4", "endpoints": endpoints,
            "ports": [{"name": "http-autometric", "port": 9090}, {"name": "http", "port": 8012}]
            if ports is None else ports}


def test_slice_addresses_split_ready_from_starting_and_drop_terminating() -> None:
    es = eslice("r-private-a", [
        {"addresses": ["10.0.0.2"], "conditions": {"ready": True}},
        {"addresses": ["10.0.0.1", "10.0.0.7"]},  # no condition: ready; the first address
        {"addresses": ["10.0.0.3"], "conditions": {"ready": False}},
        {"addresses": ["10.0.0.4"], "conditions": {"ready": False, "terminating": True}},
        {"addresses": [], "conditions": {"ready": True}},
        {"addresses": ["fd00::1"], "conditions": {"ready": True}},
    ])
    assert slice_addresses(es) == (["10.0.0.1:8012", "10.0.0.2:8012", "[fd00::1]:8012"],
                                   ["10.0.0.3:8012"])
    # no port named http: the first; no ports at all: nothing usable
    assert slice_addresses(eslice("x", [{"addresses": ["10.0.0.5"]}],
                                  [{"name": "other", "port": 7}])) == (["10.0.0.5:7"], [])
    assert slice_addresses(eslice("x", [{"addresses": ["10.0.0.5"]}], [])) == ([], [])
    assert slice_addresses({}) == ([], [])


async def test_a_revisions_backends_are_the_union_of_its_slices() -> None:
    import asyncio

    from knpy.activator.cluster import ClusterSource
    from knpy.activator.prober import Prober
    from knpy.activator.revisions import Revisions
    from knpy.activator.stats import ConcurrencyReporter

    async def probe(dest: str, _limit: float) -> bool:
        return True

    loop = asyncio.get_running_loop()
    revisions = Revisions(Prober(period=0.01, probe=probe),
                          ConcurrencyReporter("act", [].append, loop.time))
    src = ClusterSource(revisions, "knpy-system")
    # slices may come before their Revision
    src.on_slice(eslice("r-private-a", [{"addresses": ["10.0.0.1"]}]))
    src.on_revision({"metadata": {"namespace": "ns", "name": "r"}, "spec": {}})
    src.on_slice(eslice("r-private-b", [{"addresses": ["10.0.0.2"]},
                                        {"addresses": ["10.0.0.3"],
                                         "conditions": {"ready": False}}]))
    src.on_slice(eslice("other-private-a", [{"addresses": ["10.0.0.9"]}], rev="other"))

    async def assigned() -> list[str]:
        await asyncio.sleep(0.05)
        rt = revisions.get("ns/r")
        assert rt is not None
        return sorted(t.dest for t in rt.assigned)

    assert await assigned() == ["10.0.0.1:8012", "10.0.0.2:8012", "10.0.0.3:8012"]
    # a pod moved between slices: listed ready in one, stale not-ready in the other
    src.on_slice(eslice("r-private-a", [{"addresses": ["10.0.0.1"]},
                                        {"addresses": ["10.0.0.3"]}]))
    assert src._backends["ns/r"] == (["10.0.0.1:8012", "10.0.0.2:8012", "10.0.0.3:8012"], [])
    src.on_slice_deleted(eslice("r-private-b", []))
    assert await assigned() == ["10.0.0.1:8012", "10.0.0.3:8012"]
    src.on_slice_deleted(eslice("r-private-a", []))
    assert await assigned() == []
    assert "ns/r" not in src._backends
    src.on_slice(eslice("unlabelled", [{"addresses": ["10.0.0.8"]}], rev=""))  # ignored
    revisions.prober.close()


def test_an_unknown_endpoints_api_is_refused() -> None:
    import pytest

    from knpy.activator.cluster import ClusterSource
    with pytest.raises(ValueError, match="endpoints_api"):
        ClusterSource(None, "knpy-system", endpoints_api="slices")  # type: ignore[arg-type]
