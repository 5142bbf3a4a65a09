"""config-observability reaches every knpy component: each container of a knpy Deployment
gets OBSERVABILITY_CONFIG, the ConfigMap's data as JSON (docs/observability.md)."""

from __future__ import annotations

import json

from tests.unit.chart.test_knpy_chart import pytestmark, render  # noqa: F401  (skip w/o helm)

TRACING = {"tracing-protocol": "http/protobuf", "tracing-sampling-rate": "0.1",
           "tracing-endpoint": "http://otel.observability:4318/v1/traces"}
COMPONENTS = ("knpy-controller", "knpy-webhook", "knpy-broker-ingress",
              "knpy-broker-dispatcher", "knpy-activator", "knpy-autoscaler", "knpy-ingress")


def observability_env(objs: dict, name: str) -> dict:
    (c,) = objs[("Deployment", name)]["spec"]["template"]["spec"]["containers"]
    values = [e["value"] for e in c.get("env") or [] if e["name"] == "OBSERVABILITY_CONFIG"]
    assert len(values) == 1, f"{name}: OBSERVABILITY_CONFIG {values}"
    return json.loads(values[0])


def test_every_component_gets_the_configmap_data() -> None:
    objs = render("--set-json", f"servingConfig.config-observability={json.dumps(TRACING)}")
    assert objs[("ConfigMap", "config-observability")]["data"] == TRACING
    deployments = {n for (k, n) in objs if k == "Deployment"}
    assert set(COMPONENTS) <= deployments
    for name in deployments:
        assert observability_env(objs, name) == TRACING, name


def test_default_is_tracing_off() -> None:
    objs = render()
    for name in COMPONENTS:
        assert observability_env(objs, name) == {}, name
