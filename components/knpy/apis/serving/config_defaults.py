"""config-defaults: what the webhook fills into a revision spec (Knative's
pkg/apis/config/defaults.go keys and defaults).

    revision-timeout-seconds: "300"          max-revision-timeout-seconds: "600"
    revision-response-start-timeout-seconds  revision-idle-timeout-seconds (unset = none)
    container-concurrency: "0"               container-concurrency-max-limit: "1000"
    allow-container-concurrency-zero: "true" container-name-template: user-container
    init-container-name-template: init-container   enable-service-links: "false"
    revision-{cpu,memory,ephemeral-storage}-{request,limit}: ""  (unset = none)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from knpy.runtime.config import ConfigMapReader, FieldError

__all__ = ["DEFAULTS_CONFIG", "Defaults", "parse_defaults"]

DEFAULTS_CONFIG = "config-defaults"
_RESOURCES = ("cpu", "memory", "ephemeral-storage")


@dataclass(frozen=True, slots=True)
class Defaults:
    revision_timeout_seconds: int = 300
    max_revision_timeout_seconds: int = 600
    revision_response_start_timeout_seconds: int = 0  # 0 = not defaulted
    revision_idle_timeout_seconds: int = 0
    container_concurrency: int = 0
    container_concurrency_max_limit: int = 1000
    allow_container_concurrency_zero: bool = True
    container_name_template: str = "user-container"
    init_container_name_template: str = "init-container"
    enable_service_links: bool | None = False
    requests: tuple[tuple[str, str], ...] = ()  # (resource, quantity) defaults
    limits: tuple[tuple[str, str], ...] = ()


def _bad(key: str, value: object, why: str) -> FieldError:
    return FieldError.invalid(value, "", details=why).via_key(key).via_field(DEFAULTS_CONFIG)


def parse_defaults(data: Mapping[str, str] | None) -> Defaults:
    d = Defaults()
    r = ConfigMapReader(DEFAULTS_CONFIG, data)
    links = r.string("enable-service-links", "false").strip().lower()
    cfg = Defaults(
        revision_timeout_seconds=r.integer("revision-timeout-seconds",
                                           d.revision_timeout_seconds, minimum=1),
        max_revision_timeout_seconds=r.integer("max-revision-timeout-seconds",
                                               d.max_revision_timeout_seconds, minimum=1),
        revision_response_start_timeout_seconds=r.integer(
            "revision-response-start-timeout-seconds", 0, minimum=0),
        revision_idle_timeout_seconds=r.integer("revision-idle-timeout-seconds", 0, minimum=0),
        container_concurrency=r.integer("container-concurrency", d.container_concurrency,
                                        minimum=0),
        container_concurrency_max_limit=r.integer("container-concurrency-max-limit",
                                                  d.container_concurrency_max_limit,
                                                  minimum=1),
        allow_container_concurrency_zero=r.boolean("allow-container-concurrency-zero",
                                                   d.allow_container_concurrency_zero),
        container_name_template=r.string("container-name-template", d.container_name_template),
        init_container_name_template=r.string("init-container-name-template",
                                              d.init_container_name_template),
        # "default" leaves the field unset (Kubernetes' own default, true) as Knative does
        enable_service_links=None if links == "default" else r.boolean(
            "enable-service-links", False),
        requests=tuple((res, q) for res in _RESOURCES
                       if (q := r.string(f"revision-{res}-request", ""))),
        limits=tuple((res, q) for res in _RESOURCES
                     if (q := r.string(f"revision-{res}-limit", ""))),
    )
    errs = r.errors
    if cfg.revision_timeout_seconds > cfg.max_revision_timeout_seconds:
        errs = errs.also(_bad("revision-timeout-seconds", cfg.revision_timeout_seconds,
                              f"must not exceed max-revision-timeout-seconds "
                              f"({cfg.max_revision_timeout_seconds})"))
    for key, v in (("revision-response-start-timeout-seconds",
                    cfg.revision_response_start_timeout_seconds),
                   ("revision-idle-timeout-seconds", cfg.revision_idle_timeout_seconds)):
        if v > cfg.revision_timeout_seconds:
            errs = errs.also(_bad(key, v, f"must not exceed revision-timeout-seconds "
                                          f"({cfg.revision_timeout_seconds})"))
    if cfg.container_concurrency > cfg.container_concurrency_max_limit:
        errs = errs.also(_bad("container-concurrency", cfg.container_concurrency,
                              f"must be between 0 and {cfg.container_concurrency_max_limit}"))
    if cfg.container_concurrency == 0 and not cfg.allow_container_concurrency_zero:
        errs = errs.also(_bad("container-concurrency", 0,
                              "0 requires allow-container-concurrency-zero: true"))
    if not cfg.container_name_template.strip():
        errs = errs.also(_bad("container-name-template", "", "must not be empty"))
    if errs:
        raise errs
    return cfg
