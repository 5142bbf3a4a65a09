"""Env parsing: Knative's variables, defaults, and errors that name the variable."""

from __future__ import annotations

import json

import pytest

from knpy.queue_proxy.config import ConfigError, ProbeSpec, from_env, parse_probe


def test_defaults_match_knative() -> None:
    cfg = from_env({})
    assert (cfg.serving_port, cfg.admin_port, cfg.metrics_port, cfg.user_metrics_port) == (
        8012, 8022, 9090, 9091)
    assert cfg.container_concurrency == 0
    assert cfg.revision_timeout == 300
    assert cfg.readiness == ProbeSpec("tcp", "127.0.0.1", 8080)
    assert cfg.readiness.aggressive


def test_reads_every_variable() -> None:
    cfg = from_env({
        "CONTAINER_CONCURRENCY": "3", "QUEUE_SERVING_PORT": "8013", "USER_PORT": "9000",
        "REVISION_TIMEOUT_SECONDS": "60", "REVISION_RESPONSE_START_TIMEOUT_SECONDS": "10",
        "REVISION_IDLE_TIMEOUT_SECONDS": "20", "SERVING_NAMESPACE": "ns",
        "SERVING_SERVICE": "svc", "SERVING_CONFIGURATION": "cfg", "SERVING_REVISION": "rev",
        "SERVING_POD": "pod", "SERVING_POD_IP": "10.1.2.3",
    })
    assert cfg.container_concurrency == 3 and cfg.queue_depth == 30
    assert (cfg.serving_port, cfg.user_port) == (8013, 9000)
    assert (cfg.revision_timeout, cfg.response_start_timeout, cfg.idle_timeout) == (60, 10, 20)
    assert (cfg.namespace, cfg.service, cfg.configuration, cfg.revision, cfg.pod,
            cfg.pod_ip) == ("ns", "svc", "cfg", "rev", "pod", "10.1.2.3")
    assert cfg.readiness.port == 9000


@pytest.mark.parametrize(("name", "value"), [
    ("CONTAINER_CONCURRENCY", "x"),
    ("CONTAINER_CONCURRENCY", "-1"),
    ("CONTAINER_CONCURRENCY", "1001"),
    ("USER_PORT", "0"),
    ("QUEUE_SERVING_PORT", "65536"),
    ("QUEUE_ADMIN_PORT", "eighty"),
    ("REVISION_TIMEOUT_SECONDS", "nan"),
    ("REVISION_RESPONSE_START_TIMEOUT_SECONDS", "-1"),
    ("QUEUE_DRAIN_QUIET_PERIOD_SECONDS", "later"),
    ("SERVING_READINESS_PROBE", "[]"),
])
def test_bad_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as e:
        from_env({name: value})
    assert str(e.value).startswith(name + ":")


def test_announce_needs_an_address_and_a_token() -> None:
    assert from_env({}).announce_host == ""
    # a token without an address (or the reverse): no announcements, not an error
    assert from_env({"QUEUE_ANNOUNCE_TOKEN": "t"}).announce_host == ""
    assert from_env({"ACTIVATOR_ANNOUNCE_ADDRESS": "a:1"}).announce_host == ""
    cfg = from_env({"ACTIVATOR_ANNOUNCE_ADDRESS": "activator-announce.sys.svc.cluster.local:8014",
                    "QUEUE_ANNOUNCE_TOKEN": "t"})
    assert (cfg.announce_host, cfg.announce_port, cfg.announce_token) == (
        "activator-announce.sys.svc.cluster.local", 8014, "t")
    assert from_env({"ACTIVATOR_ANNOUNCE_ADDRESS": "[fd00::1]:8014",
                     "QUEUE_ANNOUNCE_TOKEN": "t"}).announce_host == "fd00::1"
    for bad in ("host", "host:", ":8014", "host:0", "host:99999", "host:x"):
        with pytest.raises(ConfigError, match=r"^ACTIVATOR_ANNOUNCE_ADDRESS: want host:port"):
            from_env({"ACTIVATOR_ANNOUNCE_ADDRESS": bad, "QUEUE_ANNOUNCE_TOKEN": "t"})


def test_port_clash_and_timeout_order_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"^QUEUE_ADMIN_PORT: port 8012"):
        from_env({"QUEUE_ADMIN_PORT": "8012"})
    with pytest.raises(ConfigError, match=r"^REVISION_IDLE_TIMEOUT_SECONDS: 20 s exceeds"):
        from_env({"REVISION_TIMEOUT_SECONDS": "10", "REVISION_IDLE_TIMEOUT_SECONDS": "20"})


def test_probe_http_get() -> None:
    spec = parse_probe(json.dumps({
        "httpGet": {"path": "healthz", "port": 8081, "scheme": "HTTP",
                    "httpHeaders": [{"name": "X-A", "value": "1"}]},
        "periodSeconds": 2, "timeoutSeconds": 3, "successThreshold": 2}), 8080)
    assert spec == ProbeSpec("http", "127.0.0.1", 8081, "/healthz", "http", (("X-A", "1"),),
                             3.0, 2.0, 2)
    assert not spec.aggressive


def test_probe_tcp_named_port_and_exec() -> None:
    assert parse_probe('{"tcpSocket": {"port": "http"}}', 8080).port == 8080
    assert parse_probe('{"tcpSocket": {"port": 0}, "periodSeconds": 0}', 8080).aggressive
    assert parse_probe('{"exec": {"command": ["true"]}}', 9000) == ProbeSpec(
        "tcp", "127.0.0.1", 9000)


@pytest.mark.parametrize(("raw", "fragment"), [
    ("{", "not valid JSON"),
    ('{"httpGet": {"port": 99999}}', "httpGet.port"),
    ('{"httpGet": {"scheme": "FTP"}}', "httpGet.scheme"),
    ('{"tcpSocket": {}, "periodSeconds": -1}', "periodSeconds"),
    ('{"nothing": {}}', "want one of"),
])
def test_probe_errors(raw: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match="^SERVING_READINESS_PROBE: .*" + fragment):
        parse_probe(raw, 8080)
