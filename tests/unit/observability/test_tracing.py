"""Tracing settings: config-observability keys, OTEL_* env vars over them, lazy import."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from knpy.runtime.observability.tracing import (
    TracingConfigError,
    TracingSettings,
    settings_from,
    settings_from_env,
)

OTLP = {"tracing-protocol": "http/protobuf", "tracing-endpoint": "http://c:4318/v1/traces",
        "tracing-sampling-rate": "0.25"}


def test_defaults_are_off() -> None:
    s = settings_from(None, {}, "activator")
    assert s == TracingSettings("none", "", 1.0, "activator") and not s.enabled


def test_configmap_keys() -> None:
    assert settings_from(OTLP, {}, "activator") == TracingSettings(
        "http/protobuf", "http://c:4318/v1/traces", 0.25, "activator")


def test_otel_env_overrides_the_configmap() -> None:
    env = {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://o:4318/",
           "OTEL_TRACES_SAMPLER_ARG": "0.5", "OTEL_SERVICE_NAME": "gw"}
    assert settings_from({}, env, "ingress") == TracingSettings(
        "http/protobuf", "http://o:4318/v1/traces", 0.5, "gw")
    env = {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://t/x", "OTEL_TRACES_SAMPLER": "always_off"}
    assert settings_from(OTLP, env, "a") == TracingSettings("http/protobuf", "http://t/x", 0.0, "a")
    assert settings_from(OTLP, {"OTEL_TRACES_EXPORTER": "console"}, "a").protocol == "stdout"
    assert not settings_from(OTLP, {"OTEL_SDK_DISABLED": "true"}, "a").enabled
    grpc = settings_from(OTLP, {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL":
                                "grpc", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://o:4317"}, "a")
    assert (grpc.protocol, grpc.endpoint) == ("grpc", "http://o:4317")


@pytest.mark.parametrize(("data", "env", "names"), [
    ({"tracing-protocol": "zipkin"}, {}, "tracing-protocol"),
    ({"tracing-protocol": "grpc"}, {}, "tracing-endpoint"),
    ({"tracing-sampling-rate": "2"}, {}, "tracing-sampling-rate"),
    ({}, {"OTEL_TRACES_SAMPLER_ARG": "x"}, "OTEL_TRACES_SAMPLER_ARG"),
    ({}, {"OTEL_TRACES_EXPORTER": "jaeger"}, "OTEL_TRACES_EXPORTER"),
])
def test_bad_values_name_the_key(data: dict[str, str], env: dict[str, str], names: str) -> None:
    with pytest.raises(TracingConfigError, match=names):
        settings_from(data, env, "a")


def test_observability_config_env_var() -> None:
    env = {"OBSERVABILITY_CONFIG": json.dumps(OTLP)}
    assert settings_from_env(env, "queue-proxy").endpoint == "http://c:4318/v1/traces"
    with pytest.raises(TracingConfigError, match="OBSERVABILITY_CONFIG"):
        settings_from_env({"OBSERVABILITY_CONFIG": "[1]"}, "queue-proxy")


def test_tracing_off_never_imports_opentelemetry() -> None:
    code = ("import sys, knpy.runtime.observability.tracing as t; "
            "assert t.proxy_tracer(t.TracingSettings()) is None; "
            "assert t.proxy_tracer(t.TracingSettings('stdout')) is not None; "
            "print(sorted(m for m in sys.modules if m.startswith('opentelemetry'))[:1])")
    off = code.replace("assert t.proxy_tracer(t.TracingSettings('stdout')) is not None; ", "")
    out = subprocess.run([sys.executable, "-c", off], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    assert out.strip() == "[]"
    on = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                        timeout=60, check=True).stdout
    assert out != on  # the check above would see the import if there were one


@pytest.mark.parametrize(("module", "args"), [
    ("knpy.broker", ["--contract", "/nonexistent.yaml"]),
    ("knpy.controller", []),
    ("knpy.webhook", ["--standalone"]),
    ("knpy.autoscaler", ["--host", "127.0.0.1", "--port", "1"]),
])
def test_a_bad_tracing_setting_stops_the_component_naming_the_key(module: str,
                                                                  args: list[str]) -> None:
    env = {**os.environ, "OBSERVABILITY_CONFIG": json.dumps({"tracing-protocol": "zipkin"})}
    run = subprocess.run([sys.executable, "-m", module, *args], env=env, capture_output=True,
                         text=True, timeout=60, check=False)
    assert run.returncode == 2, run.stderr[-2000:]
    assert "invalid tracing configuration: tracing-protocol" in run.stderr
