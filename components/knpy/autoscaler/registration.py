"""Revision registrations from YAML (standalone file) or JSON (HTTP API), validated with
field-pathed errors, and the scale target each one asks for.

    namespace: default                  # default "default"
    name: hello-00001                   # required
    containerConcurrency: 0
    annotations: {autoscaling.knative.dev/target: "10"}
    activatorProbeUrl: http://127.0.0.1:8012/   # optional: confirm the activator is in path
    # one of:
    pods:                               # fixed pods: scraped only
      - {name: p1, address: 127.0.0.1:8012, metricsUrl: http://127.0.0.1:9090/metrics}
      - 127.0.0.1:9090                  # shorthand: metrics at http://<it>/metrics
    process:                            # local processes started and stopped as decided
      user: [python, -m, tests.apps.userapp, --port, "{user}"]
      env: {}                           # extra env for the user app
      queueProxyEnv: {}                 # extra env for the queue-proxy
      stopTimeoutSeconds: 45          # SIGKILL after this (queue-proxy drains 30 s)
      logDir: /tmp/pods                 # optional per-process logs
      # or, instead of user/env/queueProxyEnv, a full template:
      template:
        ports: [user, serving, metrics]
        servingPort: serving
        metricsPort: metrics
        processes: [{argv: [...], env: {...}}]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from knpy.autoscaler.multiscaler import RevisionSpec
from knpy.autoscaler.processtarget import (
    PodTemplate,
    ProcessScaleTarget,
    ProcessSpec,
    queue_proxy_template,
)
from knpy.autoscaler.scaletarget import OnChange, Pod, ScaleTarget, StaticScaleTarget
from knpy.runtime.config import FieldError

__all__ = ["Registration", "parse_registration"]


@dataclass(frozen=True, slots=True)
class Registration:
    spec: RevisionSpec
    make_target: Callable[[OnChange | None], ScaleTarget]
    pods: tuple[Pod, ...] | None = None          # a static target's pods
    template: PodTemplate | None = None          # a process target's pod template

    def target(self, current: ScaleTarget | None, on_change: OnChange | None) -> ScaleTarget:
        """The scale target for this registration, reusing `current` when it fits: a static
        target takes the new pod list; a process target keeps its pods if the template is
        unchanged. Anything else gets a new target (the caller closes the old one)."""
        if self.pods is not None and isinstance(current, StaticScaleTarget):
            current.set_pods(self.pods)
            return current
        if (self.template is not None and isinstance(current, ProcessScaleTarget)
                and current.template == self.template):
            return current
        return self.make_target(on_change)


def _str(obj: Mapping[str, Any], key: str, default: str | None = None) -> str:
    v = obj.get(key, default)
    if v is None:
        raise FieldError.missing(key)
    if not isinstance(v, str) or not v:
        raise FieldError.invalid(v, key, details="want a non-empty string")
    return v


def _str_map(obj: Mapping[str, Any], key: str) -> dict[str, str]:
    v = obj.get(key)
    if v is None:
        return {}
    if not isinstance(v, Mapping):
        raise FieldError.invalid(v, key, details="want a mapping of strings")
    for k, item in v.items():
        if not isinstance(item, str | int | float | bool):
            raise FieldError.invalid(item, "", details="want a string").via_field_key(key, k)
    return {str(k): str(item) for k, item in v.items()}


def _argv(obj: Mapping[str, Any], key: str) -> tuple[str, ...]:
    v = obj.get(key)
    if v is None:
        raise FieldError.missing(key)
    if not isinstance(v, list) or not v or not all(isinstance(a, str | int) for a in v):
        raise FieldError.invalid(v, key, details="want a non-empty list of strings")
    return tuple(str(a) for a in v)


def _pods(raw: Any) -> list[Pod]:
    if not isinstance(raw, list):
        raise FieldError.invalid(raw, "pods", details="want a list")
    pods = []
    for i, item in enumerate(raw):
        try:
            if isinstance(item, str):
                pods.append(Pod(item, item, f"http://{item}/metrics"))
            elif isinstance(item, Mapping):
                url = _str(item, "metricsUrl")
                pods.append(Pod(_str(item, "name", url), item.get("address", ""), url))
            else:
                raise FieldError.invalid(item, "", details="want host:port or a mapping")
        except FieldError as e:
            raise e.via_field_index("pods", i) from None
    return pods


def _template(raw: Mapping[str, Any]) -> PodTemplate:
    timeout = raw.get("stopTimeoutSeconds", 45)
    if not isinstance(timeout, int | float) or timeout < 0:
        raise FieldError.invalid(timeout, "stopTimeoutSeconds", details="want seconds >= 0")
    log_dir = raw.get("logDir")
    if "template" in raw:
        t = raw["template"]
        if not isinstance(t, Mapping):
            raise FieldError.invalid(t, "template", details="want a mapping")
        try:
            procs = t.get("processes")
            if not isinstance(procs, list) or not procs:
                raise FieldError.invalid(procs, "processes", details="want a non-empty list")
            specs = []
            for i, p in enumerate(procs):
                try:
                    if not isinstance(p, Mapping):
                        raise FieldError.invalid(p, "", details="want a mapping")
                    specs.append(ProcessSpec(_argv(p, "argv"), _str_map(p, "env")))
                except FieldError as e:
                    raise e.via_field_index("processes", i) from None
            ports = t.get("ports", ["user", "serving"])
            if not isinstance(ports, list) or not all(isinstance(x, str) for x in ports):
                raise FieldError.invalid(ports, "ports", details="want a list of names")
            serving = _str(t, "servingPort", "serving")
            metrics = _str(t, "metricsPort", "metrics")
            if serving not in ports:
                raise FieldError.invalid(serving, "servingPort", details=f"not in {ports}")
            return PodTemplate(tuple(specs), tuple(ports), serving, metrics,
                               _str(t, "metricsPath", "/metrics"), float(timeout), log_dir)
        except FieldError as e:
            raise e.via_field("template") from None
    cc = raw.get("_cc", 0)
    return queue_proxy_template(_argv(raw, "user"), container_concurrency=cc,
                                env=_str_map(raw, "env"),
                                queue_proxy_env=_str_map(raw, "queueProxyEnv"),
                                stop_timeout=float(timeout), log_dir=log_dir)


def parse_registration(raw: Any) -> Registration:
    """Validate one revision entry; raises FieldError with paths relative to the entry."""
    if not isinstance(raw, Mapping):
        raise FieldError.invalid(raw, "", details="want a mapping")
    name = _str(raw, "name")
    namespace = _str(raw, "namespace", "default")
    cc = raw.get("containerConcurrency", 0)
    if not isinstance(cc, int) or isinstance(cc, bool) or not 0 <= cc <= 1000:
        raise FieldError.invalid(cc, "containerConcurrency", details="want an integer in "
                                 "[0, 1000]")
    annotations = _str_map(raw, "annotations")
    reachable = raw.get("reachable", True)
    if not isinstance(reachable, bool):
        raise FieldError.invalid(reachable, "reachable", details="want true or false")
    probe = raw.get("activatorProbeUrl")
    if probe is not None and (not isinstance(probe, str) or not probe.startswith("http")):
        raise FieldError.invalid(probe, "activatorProbeUrl", details="want an http:// URL")
    spec = RevisionSpec(namespace, name, annotations, cc, reachable, probe)

    if ("pods" in raw) == ("process" in raw):
        raise FieldError.one_of("pods", "process") if "pods" in raw \
            else FieldError.missing("pods", "process")
    if "pods" in raw:
        pods = _pods(raw["pods"])
        return Registration(spec, lambda _cb: StaticScaleTarget(pods), pods=tuple(pods))
    proc = raw["process"]
    if not isinstance(proc, Mapping):
        raise FieldError.invalid(proc, "process", details="want a mapping")
    try:
        template = _template({**proc, "_cc": cc})
    except FieldError as e:
        raise e.via_field("process") from None
    return Registration(spec, lambda cb: ProcessScaleTarget(namespace, name, template, cb),
                        template=template)
