"""config-observability: metrics, tracing and request logs of the Serving components.

    metrics-protocol: prometheus       # prometheus | grpc | http/protobuf | none
    metrics-endpoint: ""               # the OTLP endpoint for grpc / http/protobuf
    metrics-export-interval: ""        # Go duration; "" = the exporter's default
    tracing-protocol: none             # none | grpc | http/protobuf | stdout
    tracing-endpoint: ""               # required for grpc / http/protobuf
    tracing-sampling-rate: "1"         # 0..1
    logging.enable-request-log: "false"
    logging.request-log-template: ""
    logging.enable-probe-request-log: "false"

OTEL_* environment variables of a component override these, as OpenTelemetry's do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from knpy.runtime.config import ConfigMapReader, FieldError

__all__ = ["OBSERVABILITY_CONFIG", "ObservabilityConfig", "parse_observability_config"]

OBSERVABILITY_CONFIG = "config-observability"
_OTLP = ("grpc", "http/protobuf")


@dataclass(frozen=True, slots=True)
class ObservabilityConfig:
    metrics_protocol: str = "prometheus"
    metrics_endpoint: str = ""
    metrics_export_interval: float = 0.0
    tracing_protocol: str = "none"
    tracing_endpoint: str = ""
    tracing_sampling_rate: float = 1.0
    enable_request_log: bool = False
    request_log_template: str = ""
    enable_probe_request_log: bool = False


def _bad(key: str, value: object, why: str) -> FieldError:
    return FieldError.invalid(value, "", details=why).via_key(key).via_field(
        OBSERVABILITY_CONFIG)


def parse_observability_config(data: Mapping[str, str] | None) -> ObservabilityConfig:
    d = ObservabilityConfig()
    r = ConfigMapReader(OBSERVABILITY_CONFIG, data)
    cfg = ObservabilityConfig(
        metrics_protocol=r.choice("metrics-protocol", d.metrics_protocol,
                                  ("prometheus", *_OTLP, "none")),
        metrics_endpoint=r.string("metrics-endpoint", ""),
        metrics_export_interval=r.duration("metrics-export-interval", 0.0),
        tracing_protocol=r.choice("tracing-protocol", d.tracing_protocol,
                                  ("none", *_OTLP, "stdout")),
        tracing_endpoint=r.string("tracing-endpoint", ""),
        tracing_sampling_rate=r.number("tracing-sampling-rate", d.tracing_sampling_rate,
                                       minimum=0.0),
        enable_request_log=r.boolean("logging.enable-request-log", False),
        request_log_template=r.string("logging.request-log-template", ""),
        enable_probe_request_log=r.boolean("logging.enable-probe-request-log", False),
    )
    errs = r.errors
    if cfg.tracing_sampling_rate > 1:
        errs = errs.also(_bad("tracing-sampling-rate", cfg.tracing_sampling_rate,
                              "must be between 0 and 1"))
    if cfg.tracing_protocol in _OTLP and not cfg.tracing_endpoint:
        errs = errs.also(_bad("tracing-endpoint", "", f"required when tracing-protocol is "
                                                      f"{cfg.tracing_protocol}"))
    if cfg.metrics_protocol in _OTLP and not cfg.metrics_endpoint:
        errs = errs.also(_bad("metrics-endpoint", "", f"required when metrics-protocol is "
                                                      f"{cfg.metrics_protocol}"))
    if errs:
        raise errs
    return cfg
