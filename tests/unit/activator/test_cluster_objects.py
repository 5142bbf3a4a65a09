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
