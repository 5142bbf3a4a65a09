"""Standalone mode: KIngresses and Services from a YAML file (the process is tested in
tests/integration/ingress/test_standalone.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from knpy.ingress.filesource import load_config


def config(upstream_port: int) -> list[dict]:
    ing = {"apiVersion": "networking.internal.knative.dev/v1alpha1", "kind": "Ingress",
           "metadata": {"name": "r", "namespace": "ns"},
           "spec": {"rules": [{"hosts": ["r.ns.example.com"], "visibility": "ExternalIP",
                               "http": {"paths": [{"splits": [{
                                   "serviceName": "up", "serviceNamespace": "ns",
                                   "servicePort": upstream_port, "percent": 100}]}]}}]}}
    other = {**ing, "metadata": {"name": "o", "namespace": "ns", "annotations": {
        "networking.knative.dev/ingress.class": "istio.ingress.networking.knative.dev"}},
        "spec": {"rules": [{"hosts": ["o.ns.example.com"]}]}}
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "up", "namespace": "ns"},
           "spec": {"type": "ExternalName", "externalName": "127.0.0.1"}}
    return [ing, other, {"apiVersion": "v1", "kind": "List", "items": [svc]}]


def test_loads_ingresses_of_its_class_and_services(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text(yaml.safe_dump_all(config(9999)))
    router, services = load_config(f, "knpy.ingress.networking.knative.dev")
    assert set(router.current().external) == {b"r.ns.example.com"}
    assert services.get("ns", "up") is not None
    f.write_text("kind: ConfigMap\nmetadata: {name: x}\n")
    with pytest.raises(ValueError, match="want Ingress or Service"):
        load_config(f, "knpy.ingress.networking.knative.dev")
