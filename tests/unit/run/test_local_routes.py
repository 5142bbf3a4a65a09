"""`make run-local`'s routing file (hack/local_routes.py), read the way the gateway reads
it (`knpy.ingress --config`): the Knative Service's host goes to the activator with the
revision's headers, the broker and the display by their in-cluster hosts."""

from __future__ import annotations

from pathlib import Path

import pytest

from hack.local_routes import (
    BROKER_HOST,
    SINK_HOST,
    Ports,
    check_name,
    revision_of,
    service_host,
    write_routes,
)
from knpy.ingress.backends import upstream_of
from knpy.ingress.config import DEFAULT_CLASS
from knpy.ingress.filesource import load_config
from knpy.ingress.table import Path as RoutePath
from knpy.runtime.k8s import Lister

PORTS = Ports(activator=41001, broker=41002, sink=41003)


def _gateway(tmp_path: Path, name: str) -> tuple[dict[bytes, list[RoutePath]], Lister]:
    f = tmp_path / "ingress.yaml"
    write_routes(f, name, "default", PORTS)
    assert "*id" not in f.read_text()  # no YAML aliases: people read this file
    router, services = load_config(f, DEFAULT_CLASS)
    return router.current().external, services


@pytest.mark.parametrize("name", ["helloworld-go", "a" * 57])
def test_the_service_host_goes_to_the_activator_with_the_revision_headers(
        tmp_path: Path, name: str) -> None:
    external, services = _gateway(tmp_path, name)
    host = service_host(name, "default")
    assert host == f"{name}.default.example.com"
    assert set(external) == {host.encode(), BROKER_HOST.encode(), SINK_HOST.encode()}
    [path] = external[host.encode()]
    [backend] = path.backends
    assert (backend.namespace, backend.name, backend.port) == (
        "default", revision_of(name), PORTS.activator)
    assert revision_of(name) == f"{name}-00001"
    lines = backend.header_lines.decode().lower()
    assert f"knative-serving-revision: {name}-00001\r\n" in lines
    assert "knative-serving-namespace: default\r\n" in lines
    svc = services.get("default", revision_of(name))
    assert upstream_of(svc, backend.port) == ("127.0.0.1", PORTS.activator)


def test_the_broker_and_the_display_by_their_cluster_hosts(tmp_path: Path) -> None:
    external, services = _gateway(tmp_path, "helloworld-go")
    for host, ns, name, port in [
            (BROKER_HOST, "knpy-system", "broker-ingress", PORTS.broker),
            (SINK_HOST, "default", "event-display", PORTS.sink)]:
        [backend] = external[host.encode()][0].backends
        assert (backend.namespace, backend.name, backend.port) == (ns, name, port)
        assert backend.header_lines == b""  # nothing but what the client sent
        svc = services.get(ns, name)
        assert upstream_of(svc, port) == ("127.0.0.1", port)


@pytest.mark.parametrize("name", ["Hello", "1hello", "hello-", "hello_go", "", "a" * 58])
def test_a_name_knative_would_refuse_is_refused(name: str) -> None:
    why = check_name(name)
    assert why is not None and repr(name) in why
