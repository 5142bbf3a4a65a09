"""Revision spec and template validation with field paths (Knative's revision_validation.go
and k8s_validation.go): containers, ports, env, volumes, probes, timeouts,
containerConcurrency, feature-gated pod fields and the autoscaling annotations.

Every function returns errors relative to what it validates; the caller prefixes the path
(`spec.template.spec` in a Service), so users read e.g.
`expected 0 <= 1001 <= 1000: spec.template.spec.containerConcurrency`.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from knpy.apis.autoscaling.annotations import parse_annotations
from knpy.apis.serving.config_features import EMPTY_DIR, INIT_CONTAINERS, MULTI_CONTAINER
from knpy.apis.serving.configmaps import ServingConfig
from knpy.apis.serving.v1.register import (
    DEFAULT_USER_PORT,
    PORT_NAMES,
    RESERVED_ENV_VARS,
    RESERVED_PATHS,
    RESERVED_PORTS,
)
from knpy.apis.serving.v1.revision_defaults import set_revision_spec_defaults
from knpy.apis.serving.v1.revision_types import serving_container_index
from knpy.runtime.config import FieldError

__all__ = ["validate_revision", "validate_revision_spec", "validate_revision_template",
           "validate_revision_update"]

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN_FMT = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_DNS1123_SUBDOMAIN = re.compile(_DNS1123_SUBDOMAIN_FMT)  # fullmatch: "$" would allow a "\n"
# Container fields Knative's schema does not carry (its ContainerMask): the queue-proxy
# owns the lifecycle hooks, and a request-driven container has no terminal.
_DISALLOWED_CONTAINER_FIELDS = ("lifecycle", "stdin", "stdinOnce", "tty", "volumeDevices")
_MAX_ID = 2**31 - 1
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_PROBE_HANDLERS = ("tcpSocket", "httpGet", "exec", "grpc")
_INT32_MAX = 2**31 - 1

# pod spec fields Knative allows only behind a config-features flag
_GATED_POD_FIELDS = {
    "affinity": "kubernetes.podspec-affinity",
    "topologySpreadConstraints": "kubernetes.podspec-topologyspreadconstraints",
    "hostAliases": "kubernetes.podspec-hostaliases",
    "hostIPC": "kubernetes.podspec-hostipc",
    "hostNetwork": "kubernetes.podspec-hostnetwork",
    "hostPID": "kubernetes.podspec-hostpid",
    "nodeSelector": "kubernetes.podspec-nodeselector",
    "priorityClassName": "kubernetes.podspec-priorityclassname",
    "runtimeClassName": "kubernetes.podspec-runtimeclassname",
    "schedulerName": "kubernetes.podspec-schedulername",
    "securityContext": "kubernetes.podspec-securitycontext",
    "shareProcessNamespace": "kubernetes.podspec-shareprocessnamespace",
    "tolerations": "kubernetes.podspec-tolerations",
    "dnsPolicy": "kubernetes.podspec-dnspolicy",
    "dnsConfig": "kubernetes.podspec-dnsconfig",
    "initContainers": INIT_CONTAINERS,
}
_VOLUME_SOURCES = {
    "secret": None, "configMap": None, "projected": None, "emptyDir": EMPTY_DIR,
    "persistentVolumeClaim": "kubernetes.podspec-persistent-volume-claim",
    "hostPath": "kubernetes.podspec-volumes-hostpath", "csi": None,
}


def _gated(field: str, flag: str) -> FieldError:
    return FieldError("must not set the field(s)", field,
                      details=f"enable it with {flag}: Enabled in config-features")


def _dns1123_subdomain_errors(value: str) -> list[str]:
    """Kubernetes' IsDNS1123Subdomain, word for word (Knative's conformance tests compare
    the text): nothing when `value` is a valid subdomain."""
    errs = []
    if len(value) > 253:
        errs.append("must be no more than 253 characters")
    if not _DNS1123_SUBDOMAIN.fullmatch(value):
        errs.append("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                    "characters, '-' or '.', and must start and end with an alphanumeric "
                    "character (e.g. 'example.com', regex used for validation is "
                    f"'{_DNS1123_SUBDOMAIN_FMT}')")
    return errs


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _int_in(spec: dict[str, Any], field: str, lo: int, hi: int) -> FieldError:
    v = spec.get(field)
    if v is None:
        return FieldError.none()
    if not _is_int(v) or not lo <= v <= hi:
        return FieldError.out_of_bounds(v, lo, hi, field)
    return FieldError.none()


def _validate_port(p: Any) -> FieldError:
    if not isinstance(p, dict):
        return FieldError.invalid(p, "", "want a container port")
    errs = FieldError.none()
    port = p.get("containerPort")
    if port is not None:
        # 0 is Knative's "unset": the user port is then 8080
        if not _is_int(port) or not 0 <= port <= 65535:
            errs = errs.also(FieldError.out_of_bounds(port, 0, 65535, "containerPort"))
        elif port in RESERVED_PORTS:
            errs = errs.also(FieldError(
                f"{port} is a reserved port", "containerPort",
                details="the queue-proxy listens on "
                        + ", ".join(str(x) for x in sorted(RESERVED_PORTS))))
    if p.get("name", "") not in PORT_NAMES:
        errs = errs.also(FieldError.invalid(p.get("name"), "name",
                                            "a port name must be http1, h2c or empty"))
    if p.get("protocol", "TCP") != "TCP":
        errs = errs.also(FieldError.invalid(p.get("protocol"), "protocol", "only TCP"))
    for f in ("hostIP", "hostPort"):
        if p.get(f):
            errs = errs.also(FieldError.disallowed(f))
    return errs


def _validate_env(env: Any) -> FieldError:
    if env is None:
        return FieldError.none()
    if not isinstance(env, list):
        return FieldError.invalid(env, "env", "want a list")
    errs = FieldError.none()
    for i, e in enumerate(env):
        name = e.get("name") if isinstance(e, dict) else None
        if not name:
            errs = errs.also(FieldError.missing("name").via_index(i).via_field("env"))
        elif name in RESERVED_ENV_VARS:
            errs = errs.also(FieldError(f"{name!r} is a reserved environment variable",
                                        f"env[{i}].name"))
        elif not _ENV_NAME.match(name):
            errs = errs.also(FieldError.invalid(name, f"env[{i}].name",
                                                "not a valid environment variable name"))
        elif isinstance(e, dict) and e.get("value") is not None \
                and e.get("valueFrom") is not None:
            errs = errs.also(FieldError.one_of(f"env[{i}].value", f"env[{i}].valueFrom"))
    return errs


def _validate_probe(p: Any, serving: bool) -> FieldError:
    if p is None:
        return FieldError.none()
    if not isinstance(p, dict):
        return FieldError.invalid(p, "", "want a probe")
    errs = FieldError.none()
    handlers = [h for h in _PROBE_HANDLERS if p.get(h) is not None]
    if len(handlers) > 1:
        errs = errs.also(FieldError.one_of(*handlers))
    elif not handlers:
        errs = errs.also(FieldError.missing_one_of(*_PROBE_HANDLERS))
    period = p.get("periodSeconds", 0)
    if serving and period == 0:
        # Knative's aggressive probing: the queue-proxy retries every 50 ms with its own
        # timeout, so a threshold or timeout would mean nothing
        for f in ("failureThreshold", "timeoutSeconds"):
            if p.get(f):
                errs = errs.also(FieldError(
                    "must not set the field(s)", f,
                    details="not allowed when periodSeconds is 0 (aggressive probing)"))
    else:
        for f in ("timeoutSeconds", "failureThreshold"):
            if f in p:
                errs = errs.also(_int_in(p, f, 1, _INT32_MAX))
    for f, lo in (("periodSeconds", 0), ("initialDelaySeconds", 0), ("successThreshold", 1)):
        errs = errs.also(_int_in(p, f, lo, _INT32_MAX))
    return errs


def _validate_probe_port(c: dict[str, Any]) -> FieldError:
    """The queue-proxy runs the serving container's readiness probe against the user port,
    so a probe may only name that port (or leave it 0 / unset)."""
    probe = c.get("readinessProbe")
    if not isinstance(probe, dict):
        return FieldError.none()
    ports = c.get("ports") or [{}]
    want = ports[0].get("containerPort") if isinstance(ports[0], dict) else None
    want = want or DEFAULT_USER_PORT
    for h in ("tcpSocket", "httpGet"):
        port = (probe.get(h) or {}).get("port") if isinstance(probe.get(h), dict) else None
        if _is_int(port) and port not in (0, want):
            return FieldError.invalid(port, f"readinessProbe.{h}.port",
                                      f"may only probe the containerPort ({want})")
    return FieldError.none()


def _validate_container(c: Any, serving: bool, volumes: set[str]) -> FieldError:
    if not isinstance(c, dict):
        return FieldError.invalid(c, "", "want a container")
    errs = FieldError.none()
    for f in _DISALLOWED_CONTAINER_FIELDS:
        if c.get(f) not in (None, False, {}, []):
            errs = errs.also(FieldError.disallowed(f))
    errs = errs.also(_validate_security_context(c.get("securityContext")))
    if not c.get("image"):
        errs = errs.also(FieldError.missing("image"))
    name = c.get("name")
    if name and not _DNS1123_LABEL.match(str(name)):
        errs = errs.also(FieldError.invalid(name, "name", "must be a DNS-1123 label"))
    ports = c.get("ports")
    if ports is not None:
        if not isinstance(ports, list):
            errs = errs.also(FieldError.invalid(ports, "ports", "want a list"))
        else:
            for i, p in enumerate(ports):
                errs = errs.also(_validate_port(p).via_index(i).via_field("ports"))
    errs = errs.also(_validate_env(c.get("env")))
    for i, m in enumerate(c.get("volumeMounts") or []):
        if not isinstance(m, dict):
            continue
        path = str(m.get("mountPath") or "").rstrip("/") or "/"
        if path in RESERVED_PATHS:
            errs = errs.also(FieldError(f"{m.get('mountPath')!r} is a reserved path",
                                        f"volumeMounts[{i}].mountPath"))
        if m.get("name") not in volumes:
            errs = errs.also(FieldError.invalid(m.get("name"), f"volumeMounts[{i}].name",
                                                "no volume of that name in spec.volumes"))
    errs = errs.also(_validate_probe(c.get("readinessProbe"), serving)
                     .via_field("readinessProbe"))
    if serving:
        errs = errs.also(_validate_probe_port(c))
    errs = errs.also(_validate_probe(c.get("livenessProbe"), False).via_field("livenessProbe"))
    return errs


def _validate_security_context(sc: Any) -> FieldError:
    """User and group IDs are Linux ids: 0..2^31-1 (Knative's SecurityContext rule)."""
    if not isinstance(sc, dict):
        return FieldError.none()
    errs = FieldError.none()
    for f in ("runAsUser", "runAsGroup"):
        v = sc.get(f)
        if v is not None and (not _is_int(v) or not 0 <= v <= _MAX_ID):
            errs = errs.also(FieldError.out_of_bounds(v, 0, _MAX_ID, f"securityContext.{f}"))
    return errs


def _validate_volumes(vols: Any, cfg: ServingConfig) -> tuple[FieldError, set[str]]:
    if vols is None:
        return FieldError.none(), set()
    if not isinstance(vols, list):
        return FieldError.invalid(vols, "volumes", "want a list"), set()
    errs, names = FieldError.none(), set()
    for i, v in enumerate(vols):
        if not isinstance(v, dict) or not v.get("name"):
            errs = errs.also(FieldError.missing(f"volumes[{i}].name"))
            continue
        if v["name"] in names:
            errs = errs.also(FieldError(f"duplicate volume name {v['name']!r}",
                                        f"volumes[{i}].name"))
        names.add(v["name"])
        sources = [k for k in v if k != "name"]
        if len(sources) != 1:
            errs = errs.also(FieldError("expected exactly one volume source",
                                        f"volumes[{i}]", details=", ".join(_VOLUME_SOURCES)))
            continue
        src = sources[0]
        if src not in _VOLUME_SOURCES:
            errs = errs.also(FieldError.disallowed(f"volumes[{i}].{src}"))
        elif (flag := _VOLUME_SOURCES[src]) and not cfg.features.enabled(flag):
            errs = errs.also(_gated(f"volumes[{i}].{src}", flag))
    return errs, names


def validate_revision_spec(spec: Any, cfg: ServingConfig | None = None) -> FieldError:
    """Errors relative to the revision spec."""
    cfg = cfg or ServingConfig()
    if not isinstance(spec, dict):
        return FieldError.missing("")
    errs, volumes = _validate_volumes(spec.get("volumes"), cfg)
    for field, flag in _GATED_POD_FIELDS.items():
        if spec.get(field) not in (None, [], {}, False, "") and not cfg.features.enabled(flag):
            errs = errs.also(_gated(field, flag))
    containers = spec.get("containers")
    if not isinstance(containers, list) or not containers:
        errs = errs.also(FieldError.missing("containers"))
        containers = []
    if len(containers) > 1 and not cfg.features.enabled(MULTI_CONTAINER):
        errs = errs.also(_gated("containers", MULTI_CONTAINER))
    serving = serving_container_index(containers)
    with_ports = [i for i, c in enumerate(containers) if isinstance(c, dict) and c.get("ports")]
    if len(containers) > 1 and not with_ports:
        errs = errs.also(FieldError("missing field(s)", "containers[*].ports",
                                    details="one container must set the serving port"))
    if len(with_ports) > 1:
        errs = errs.also(FieldError(
            "more than one container port is set",
            *(f"containers[{i}].ports" for i in with_ports[1:]),
            details="only a single port is allowed across all containers"))
    for i in with_ports[:1]:
        if len(containers[i]["ports"]) > 1:
            errs = errs.also(FieldError(
                "more than one container port is set", f"containers[{i}].ports",
                details="only a single port is allowed across all containers"))
    names: dict[str, int] = {}
    for i, c in enumerate(containers):
        errs = errs.also(_validate_container(c, i == serving, volumes)
                         .via_field_index("containers", i))
        name = c.get("name") if isinstance(c, dict) else None
        if name:
            if name in names:
                errs = errs.also(FieldError(f"duplicate container name {name!r}",
                                            f"containers[{i}].name",
                                            f"containers[{names[name]}].name"))
            names[name] = i
    sa = spec.get("serviceAccountName")
    if sa not in (None, ""):
        problems = _dns1123_subdomain_errors(str(sa))
        if problems:
            errs = errs.also(FieldError.invalid(sa, "serviceAccountName",
                                                "\n".join(problems)))
    d = cfg.defaults
    cc_lo = 0 if d.allow_container_concurrency_zero else 1
    errs = errs.also(_int_in(spec, "containerConcurrency", cc_lo,
                             d.container_concurrency_max_limit))
    errs = errs.also(_int_in(spec, "timeoutSeconds", 0, d.max_revision_timeout_seconds))
    ts = spec.get("timeoutSeconds")
    ceiling = d.max_revision_timeout_seconds
    if isinstance(ts, int) and _is_int(ts) and 0 <= ts <= ceiling:
        ceiling = ts
    for f in ("responseStartTimeoutSeconds", "idleTimeoutSeconds"):
        errs = errs.also(_int_in(spec, f, 0, ceiling))
    return errs


def validate_revision_template(template: Any, cfg: ServingConfig | None = None,
                               parent: str = "") -> FieldError:
    """Errors relative to a `spec.template` (metadata + spec); `parent` is the owning
    Configuration's or Service's name, which a BYO revision name must start with."""
    cfg = cfg or ServingConfig()
    if not isinstance(template, dict):
        return FieldError.missing("")
    errs = validate_revision_spec(template.get("spec"), cfg).via_field("spec")
    md = template.get("metadata") or {}
    name = md.get("name")
    if name and parent and not str(name).startswith(f"{parent}-"):
        errs = errs.also(FieldError.invalid(name, "metadata.name",
                                            f"must have prefix {parent + '-'!r}"))
    if name and not _DNS1123_LABEL.match(str(name)):
        errs = errs.also(FieldError.invalid(name, "metadata.name",
                                            "must be a DNS-1123 label"))
    try:
        parse_annotations(cfg.autoscaler, md.get("annotations") or {})
    except FieldError as exc:
        errs = errs.also(exc.via_field("metadata"))
    return errs


def validate_revision(raw: dict[str, Any], cfg: ServingConfig | None = None) -> FieldError:
    return validate_revision_template(raw, cfg)


def validate_revision_update(old: dict[str, Any], new: dict[str, Any],
                             cfg: ServingConfig | None = None) -> FieldError:
    """A Revision is a snapshot: its spec never changes once created. The old spec is
    compared defaulted, as the new one arrives defaulted: a Revision stored before a
    default existed is not refused a label update for it."""
    errs = validate_revision(new, cfg)
    old_spec = old.get("spec")
    if isinstance(old_spec, dict) and old_spec != new.get("spec"):
        old_spec = copy.deepcopy(old_spec)
        set_revision_spec_defaults(old_spec, (cfg or ServingConfig()).defaults)
    if old_spec != new.get("spec"):
        errs = errs.also(FieldError.immutable("spec", old_spec, new.get("spec")))
    return errs
