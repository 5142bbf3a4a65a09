"""config-domain: the domain suffix of each Route's URL (Knative's route/config/domain.go).

Each key is a domain; its value is empty (the default domain) or a YAML label selector
(`selector: {app: public}`) choosing the Routes it applies to. The most specific selector
that matches wins; with no keys, the domain is `example.com`. A Route labelled
`networking.knative.dev/visibility: cluster-local` gets `svc.<cluster domain>` instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import yaml

from knpy.runtime.config import ConfigMapReader, FieldError

__all__ = ["DEFAULT_DOMAIN", "DOMAIN_CONFIG", "DomainConfig", "parse_domain_config"]

DOMAIN_CONFIG = "config-domain"
DEFAULT_DOMAIN = "example.com"
_DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


@dataclass(frozen=True, slots=True)
class DomainConfig:
    # (domain, selector) pairs; an empty selector matches every Route
    domains: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ((DEFAULT_DOMAIN, ()),)

    def lookup(self, labels: Mapping[str, str]) -> str:
        """The domain whose selector matches `labels` with the most keys."""
        best, size = "", -1
        for domain, selector in self.domains:
            if len(selector) > size and all(labels.get(k) == v for k, v in selector):
                best, size = domain, len(selector)
        return best or DEFAULT_DOMAIN


def _bad(key: str, value: object, why: str) -> FieldError:
    return FieldError.invalid(value, "", details=why).via_key(key).via_field(DOMAIN_CONFIG)


def parse_domain_config(data: Mapping[str, str] | None) -> DomainConfig:
    r = ConfigMapReader(DOMAIN_CONFIG, data)
    errs = FieldError.none()
    domains: list[tuple[str, tuple[tuple[str, str], ...]]] = []
    for domain, text in sorted(r.data.items()):
        if not _DNS1123.match(domain) or len(domain) > 253:
            errs = errs.also(_bad(domain, domain, "not a valid domain name"))
            continue
        try:
            doc = yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError as exc:
            errs = errs.also(_bad(domain, text, f"not YAML: {exc}"))
            continue
        sel = (doc or {}).get("selector") if isinstance(doc, dict) or doc is None else None
        if doc is not None and (not isinstance(doc, dict) or set(doc) - {"selector"}
                                or not isinstance(sel or {}, dict)):
            errs = errs.also(_bad(domain, text, "want empty or `selector: {label: value}`"))
            continue
        domains.append((domain, tuple(sorted((str(k), str(v))
                                             for k, v in (sel or {}).items()))))
    if errs:
        raise errs
    return DomainConfig(tuple(domains) or DomainConfig().domains)
