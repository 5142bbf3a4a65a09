"""config-network: Knative's networking keys (knative.dev/networking pkg/config) and the
domain/tag templates that name a Route's hosts.

    domain-template: "{{.Name}}.{{.Namespace}}.{{.Domain}}"
    tag-template: "{{.Tag}}-{{.Name}}"
    ingress-class: knpy.ingress.networking.knative.dev
    http-protocol: Enabled            # Enabled | Redirected | Disabled
    external-domain-tls: Disabled     # (auto-tls, its older name, is read too)
    cluster-local-domain-tls: Disabled
    system-internal-tls: Disabled
    default-external-scheme: http
    rollout-duration: "0"             # seconds
    autocreate-cluster-domain-claims: "false"
    enable-mesh-pod-addressability: "false"
    mesh-compatibility-mode: auto     # enabled | disabled | auto

Templates are Go templates in Knative; knpy supports the `{{.Field}}` substitutions its
documentation uses (Name, Namespace, Domain, Tag, and `{{index .Annotations "k"}}`) and
rejects anything else, naming the unsupported action.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from knpy.runtime.config import ConfigMapReader, FieldError

__all__ = ["NETWORK_CONFIG", "NetworkConfig", "parse_network_config", "render_template"]

NETWORK_CONFIG = "config-network"
DEFAULT_DOMAIN_TEMPLATE = "{{.Name}}.{{.Namespace}}.{{.Domain}}"
DEFAULT_TAG_TEMPLATE = "{{.Tag}}-{{.Name}}"
_ON_OFF = ("Enabled", "Disabled")

_ACTION = re.compile(r"{{-?\s*(.*?)\s*-?}}")
_FIELD = re.compile(r"^\.(Name|Namespace|Domain|Tag)$")
_INDEX = re.compile(r'^index\s+\.(Annotations|Labels)\s+"([^"]*)"$')
_DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def render_template(template: str, values: Mapping[str, str],
                    annotations: Mapping[str, str] | None = None,
                    labels: Mapping[str, str] | None = None) -> str:
    """Expand `{{.Name}}`-style actions; raises ValueError on any other action."""
    def sub(m: re.Match[str]) -> str:
        action = m.group(1)
        if f := _FIELD.match(action):
            return values.get(f.group(1), "")
        if i := _INDEX.match(action):
            src = annotations if i.group(1) == "Annotations" else labels
            return (src or {}).get(i.group(2), "")
        raise ValueError(f"unsupported template action {m.group(0)!r}")
    return _ACTION.sub(sub, template)


@dataclass(frozen=True, slots=True)
class NetworkConfig:
    domain_template: str = DEFAULT_DOMAIN_TEMPLATE
    tag_template: str = DEFAULT_TAG_TEMPLATE
    ingress_class: str = "knpy.ingress.networking.knative.dev"
    certificate_class: str = "cert-manager.certificate.networking.knative.dev"
    http_protocol: str = "Enabled"
    external_domain_tls: bool = False
    cluster_local_domain_tls: bool = False
    system_internal_tls: bool = False
    default_external_scheme: str = "http"
    rollout_duration: int = 0
    autocreate_cluster_domain_claims: bool = False
    enable_mesh_pod_addressability: bool = False
    mesh_compatibility_mode: str = "auto"


def _bad(key: str, value: object, why: str) -> FieldError:
    return FieldError.invalid(value, "", details=why).via_key(key).via_field(NETWORK_CONFIG)


def _check_domain_template(t: str) -> str | None:
    try:
        host = render_template(t, {"Name": "foo", "Namespace": "bar", "Domain": "baz.com",
                                   "Tag": "t"})
    except ValueError as exc:
        return str(exc)
    if "{{.Tag}}" in t.replace(" ", ""):
        return "must not use {{.Tag}} (the tag-template adds it)"
    for want in ("foo", "bar"):
        if want not in host:
            return "must use {{.Name}} and {{.Namespace}}"
    if not _DNS1123.match(host):
        return f"renders {host!r}, not a valid host name"
    return None


def _check_tag_template(t: str) -> str | None:
    try:
        name = render_template(t, {"Name": "foo", "Tag": "bar"})
    except ValueError as exc:
        return str(exc)
    if "foo" not in name or "bar" not in name:
        return "must use {{.Name}} and {{.Tag}}"
    return None


def parse_network_config(data: Mapping[str, str] | None) -> NetworkConfig:
    d = NetworkConfig()
    r = ConfigMapReader(NETWORK_CONFIG, data)
    tls_default = "Enabled" if r.string("auto-tls", "Disabled").lower() == "enabled" \
        else "Disabled"
    cfg = NetworkConfig(
        domain_template=r.string("domain-template", d.domain_template),
        tag_template=r.string("tag-template", d.tag_template),
        ingress_class=r.string("ingress-class", r.string("ingress.class", d.ingress_class)),
        certificate_class=r.string("certificate-class", d.certificate_class),
        http_protocol=r.choice("http-protocol", d.http_protocol,
                               ("Enabled", "Redirected", "Disabled")),
        external_domain_tls=r.choice("external-domain-tls", tls_default, _ON_OFF) == "Enabled",
        cluster_local_domain_tls=r.choice("cluster-local-domain-tls", "Disabled",
                                          _ON_OFF) == "Enabled",
        system_internal_tls=r.choice("system-internal-tls", "Disabled", _ON_OFF) == "Enabled",
        default_external_scheme=r.choice("default-external-scheme", d.default_external_scheme,
                                         ("http", "https")),
        rollout_duration=r.integer("rollout-duration", d.rollout_duration, minimum=0),
        autocreate_cluster_domain_claims=r.boolean("autocreate-cluster-domain-claims", False),
        enable_mesh_pod_addressability=r.boolean("enable-mesh-pod-addressability", False),
        mesh_compatibility_mode=r.choice("mesh-compatibility-mode", d.mesh_compatibility_mode,
                                         ("enabled", "disabled", "auto")),
    )
    errs = r.errors
    if why := _check_domain_template(cfg.domain_template):
        errs = errs.also(_bad("domain-template", cfg.domain_template, why))
    if why := _check_tag_template(cfg.tag_template):
        errs = errs.also(_bad("tag-template", cfg.tag_template, why))
    if errs:
        raise errs
    return cfg
