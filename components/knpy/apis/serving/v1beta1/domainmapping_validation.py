"""DomainMapping defaulting and validation (Knative's domainmapping_defaults.go and
domainmapping_validation.go): the name must be a fully qualified domain name, not under the
cluster-local domain, no generateName; spec.ref needs apiVersion, kind and name, and its
namespace (defaulted to the DomainMapping's) must be the DomainMapping's; spec.tls needs a
secretName. ClusterDomainClaim: spec.namespace is required."""

from __future__ import annotations

import copy
import re
from typing import Any

from knpy.runtime.config import FieldError

__all__ = ["set_domainmapping_defaults", "validate_clusterdomainclaim",
           "validate_domainmapping", "validate_domainmapping_update"]

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def fqdn_error(name: str) -> str:
    """Why `name` is not a fully qualified domain name (Kubernetes' IsFullyQualifiedDomainName),
    or ""."""
    if not name:
        return "a fully qualified domain name is required"
    if len(name) > 253:
        return "must be no more than 253 characters"
    labels = name.split(".")
    if len(labels) < 2:
        return "should be a domain with at least two segments separated by dots"
    for label in labels:
        if len(label) > 63 or not _LABEL.match(label):
            return ("each part must consist of lower case alphanumeric characters or '-', "
                    "and must start and end with an alphanumeric character")
    return ""


def set_domainmapping_defaults(raw: dict[str, Any]) -> dict[str, Any]:
    """spec.ref.namespace: the DomainMapping's own."""
    out = copy.deepcopy(raw)
    ns = (out.get("metadata") or {}).get("namespace")
    ref = (out.get("spec") or {}).get("ref")
    if isinstance(ref, dict) and not ref.get("namespace") and ns:
        ref["namespace"] = ns
    return out


def validate_domainmapping(o: dict[str, Any], cluster_domain: str = "cluster.local"
                           ) -> FieldError:
    md = o.get("metadata") or {}
    name, ns = md.get("name") or "", md.get("namespace") or ""
    errs = FieldError.none()
    if md.get("generateName"):
        errs = errs.also(FieldError.disallowed("metadata.generateName"))
    why = fqdn_error(name)
    if why:
        errs = errs.also(FieldError(f"invalid name {name!r}: {why}", "metadata.name"))
    elif name.endswith("." + cluster_domain):
        errs = errs.also(FieldError(
            f"invalid name {name!r}: must not be a subdomain of cluster local domain "
            f"{cluster_domain!r}", "metadata.name"))
    spec = o.get("spec")
    if not isinstance(spec, dict):
        return errs.also(FieldError.missing("spec"))
    ref = spec.get("ref")
    if not isinstance(ref, dict):
        errs = errs.also(FieldError.missing("spec.ref"))
    else:
        for k in ("apiVersion", "kind", "name"):
            if not ref.get(k):
                errs = errs.also(FieldError.missing(f"spec.ref.{k}"))
        if ref.get("namespace") and ref["namespace"] != ns:
            errs = errs.also(FieldError(
                f"Ref namespace must be empty or equal to the domain mapping namespace {ns!r}",
                "spec.ref.namespace"))
    tls = spec.get("tls")
    if tls is not None and not (isinstance(tls, dict) and tls.get("secretName")):
        errs = errs.also(FieldError.missing("spec.tls.secretName"))
    return errs


def validate_domainmapping_update(old: dict[str, Any], new: dict[str, Any],
                                  cluster_domain: str = "cluster.local") -> FieldError:
    return validate_domainmapping(new, cluster_domain)


def validate_clusterdomainclaim(o: dict[str, Any]) -> FieldError:
    name = (o.get("metadata") or {}).get("name") or ""
    errs = FieldError.none()
    why = fqdn_error(name)
    if why:
        errs = errs.also(FieldError(f"invalid name {name!r}: {why}", "metadata.name"))
    if not ((o.get("spec") or {}).get("namespace")):
        errs = errs.also(FieldError.missing("spec.namespace"))
    return errs
