"""Tracing settings, and the proxy-core hook that makes one span per request when tracing is on.

Stdlib only: the queue-proxy loads this in every pod. OpenTelemetry is imported (through
`otelproxy`, loaded by name) only when the settings turn tracing on, so a process with
tracing off never imports it.

Settings come from the `config-observability` keys (`tracing-protocol`, `tracing-endpoint`,
`tracing-sampling-rate`), given to a process as the JSON env var OBSERVABILITY_CONFIG, and
the standard `OTEL_*` env vars override them (docs/observability.md lists which).
"""

from __future__ import annotations

import importlib
import json
import logging
import math
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

PROTOCOLS = ("none", "grpc", "http/protobuf", "stdout")
OBSERVABILITY_ENV = "OBSERVABILITY_CONFIG"
# OTEL_TRACES_EXPORTER values -> tracing-protocol ("otlp" takes the OTLP protocol env vars)
_EXPORTERS = {"none": "none", "console": "stdout", "otlp": ""}
# OTEL_TRACES_SAMPLER values that fix the rate; the ratio ones read OTEL_TRACES_SAMPLER_ARG.
# Sampling is always ParentBased: a sampled parent is followed whatever the rate.
_FIXED_SAMPLERS = {"always_on": 1.0, "parentbased_always_on": 1.0,
                   "always_off": 0.0, "parentbased_always_off": 0.0}


class TracingConfigError(ValueError):
    """A malformed tracing setting; the message names the key or variable."""


@dataclass(frozen=True, slots=True)
class TracingSettings:
    protocol: str = "none"  # one of PROTOCOLS
    endpoint: str = ""  # the full OTLP URL (http/protobuf: .../v1/traces), or host:port (grpc)
    sampling_rate: float = 1.0
    service_name: str = ""

    @property
    def enabled(self) -> bool:
        return self.protocol != "none"


def _rate(raw: str, name: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise TracingConfigError(f"{name}: want a number 0..1, got {raw!r}") from None
    if not math.isfinite(value) or not 0 <= value <= 1:
        raise TracingConfigError(f"{name}: want a number 0..1, got {raw!r}")
    return value


def settings_from(data: Mapping[str, str] | None, env: Mapping[str, str],
                  service_name: str) -> TracingSettings:
    """config-observability `data` (may be None), then the OTEL_* env vars over it."""
    d = data or {}
    protocol = str(d.get("tracing-protocol", "none") or "none").strip()
    if protocol not in PROTOCOLS:
        raise TracingConfigError(f"tracing-protocol: want one of {', '.join(PROTOCOLS)}, "
                                 f"got {protocol!r}")
    endpoint = str(d.get("tracing-endpoint", "") or "").strip()
    raw_rate = str(d.get("tracing-sampling-rate", "") or "").strip()
    rate = _rate(raw_rate, "tracing-sampling-rate") if raw_rate else 1.0

    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        protocol = "none"
    elif exporter := env.get("OTEL_TRACES_EXPORTER", "").strip().lower():
        if exporter not in _EXPORTERS:
            raise TracingConfigError(f"OTEL_TRACES_EXPORTER: want none, console or otlp, "
                                     f"got {exporter!r}")
        protocol = _EXPORTERS[exporter] or _otlp_protocol(env, protocol)
    otlp_base = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    if traces_url := env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip():
        endpoint = traces_url
    elif otlp_base:
        # the general endpoint is a base URL: the traces path is appended for OTLP/HTTP
        endpoint = (otlp_base.rstrip("/") + "/v1/traces" if protocol == "http/protobuf"
                    else otlp_base)
    if protocol in ("grpc", "http/protobuf") and not endpoint:
        raise TracingConfigError(f"tracing-endpoint: required when tracing-protocol is "
                                 f"{protocol}")

    sampler = env.get("OTEL_TRACES_SAMPLER", "").strip().lower()
    if sampler in _FIXED_SAMPLERS:
        rate = _FIXED_SAMPLERS[sampler]
    elif arg := env.get("OTEL_TRACES_SAMPLER_ARG", "").strip():
        rate = _rate(arg, "OTEL_TRACES_SAMPLER_ARG")
    name = env.get("OTEL_SERVICE_NAME", "").strip() or service_name
    return TracingSettings(protocol, endpoint, rate, name)


def _otlp_protocol(env: Mapping[str, str], configured: str) -> str:
    raw = (env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "").strip()
           or env.get("OTEL_EXPORTER_OTLP_PROTOCOL", "").strip())
    if raw:
        if raw not in ("grpc", "http/protobuf"):
            raise TracingConfigError(f"OTEL_EXPORTER_OTLP_PROTOCOL: want grpc or "
                                     f"http/protobuf, got {raw!r}")
        return raw
    return configured if configured in ("grpc", "http/protobuf") else "http/protobuf"


def process_settings(service_name: str, component: str | None = None) -> TracingSettings | None:
    """A component process's settings from its environment; None after telling stderr why
    they are invalid (the component then exits 2, naming the bad key at start)."""
    try:
        return settings_from_env(os.environ, service_name)
    except TracingConfigError as exc:
        print(f"{component or service_name}: invalid tracing configuration: {exc}",
              file=sys.stderr)
        return None


def settings_from_env(env: Mapping[str, str], service_name: str) -> TracingSettings:
    """The settings of a process configured by env: OBSERVABILITY_CONFIG (the JSON object
    of config-observability's data) and the OTEL_* variables."""
    raw = env.get(OBSERVABILITY_ENV, "").strip()
    data: Any = None
    if raw:
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as e:
            raise TracingConfigError(f"{OBSERVABILITY_ENV}: not valid JSON: {e}") from None
        if not isinstance(data, dict):
            raise TracingConfigError(f"{OBSERVABILITY_ENV}: want a JSON object")
    return settings_from(data, env, service_name)


def load(settings: TracingSettings, factory: str, *args: Any) -> Any | None:
    """The OpenTelemetry-side tracer `factory` ("module:Class", called with the settings
    and `args`), or None when tracing is off: each component's hot path then checks one
    `is None` and does nothing more.

    A missing OpenTelemetry package is logged and leaves tracing off: tracing must never
    stop a component."""
    if not settings.enabled:
        return None
    module, _, name = factory.partition(":")
    try:
        return getattr(importlib.import_module(module), name)(settings, *args)
    except ImportError as e:
        log.error("tracing-protocol %s needs OpenTelemetry (pip install 'knpy[tracing]'): %s;"
                  " tracing stays off", settings.protocol, e)
        return None


def proxy_tracer(settings: TracingSettings,
                 attributes: Mapping[str, str] | None = None) -> Any | None:
    """The hook for `runtime.proxy.Server.tracer`: None when tracing is off (the core then
    does nothing per request), else an object making one SERVER span per request.

    `attributes` are set on every span (e.g. the queue-proxy's revision and namespace)."""
    return load(settings, "knpy.runtime.observability.otelproxy:ExchangeTracer",
                dict(attributes or {}))


def operation_tracer(settings: TracingSettings, scope: str) -> Any | None:
    """None when tracing is off, else an `otelops.OperationTracer`: one span per
    control-plane operation (a reconcile, an admission review)."""
    return load(settings, "knpy.runtime.observability.otelops:OperationTracer", scope)


def shutdown(tracer: Any | None) -> None:
    """Export the spans still buffered (at process exit)."""
    if tracer is not None:
        tracer.shutdown()
