"""config-features: Knative's feature flags (pkg/apis/config/features.go), each Enabled,
Disabled or Allowed (Allowed: off unless an object opts in with the flag's annotation).

Knative silently ignores a value it does not recognise; knpy rejects it, so a typo such as
`Enable` is caught at `kubectl apply` instead of leaving the feature off.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from knpy.runtime.config import ConfigMapReader

__all__ = ["ALLOWED", "DISABLED", "ENABLED", "FEATURES_CONFIG", "FEATURE_DEFAULTS", "Features",
           "parse_features"]

FEATURES_CONFIG = "config-features"
ENABLED, DISABLED, ALLOWED = "Enabled", "Disabled", "Allowed"
_STATES = {s.lower(): s for s in (ENABLED, DISABLED, ALLOWED)}

MULTI_CONTAINER = "multi-container"
EMPTY_DIR = "kubernetes.podspec-emptydir"
INIT_CONTAINERS = "kubernetes.podspec-init-containers"

FEATURE_DEFAULTS: dict[str, str] = {
    MULTI_CONTAINER: ENABLED,
    "multi-container-probing": DISABLED,
    EMPTY_DIR: ENABLED,
    INIT_CONTAINERS: DISABLED,
    "kubernetes.podspec-affinity": DISABLED,
    "kubernetes.podspec-topologyspreadconstraints": DISABLED,
    "kubernetes.podspec-dryrun": ALLOWED,
    "kubernetes.podspec-fieldref": DISABLED,
    "kubernetes.podspec-hostaliases": DISABLED,
    "kubernetes.podspec-hostipc": DISABLED,
    "kubernetes.podspec-hostnetwork": DISABLED,
    "kubernetes.podspec-hostpid": DISABLED,
    "kubernetes.podspec-nodeselector": DISABLED,
    "kubernetes.podspec-persistent-volume-claim": DISABLED,
    "kubernetes.podspec-persistent-volume-write": DISABLED,
    "kubernetes.podspec-priorityclassname": DISABLED,
    "kubernetes.podspec-runtimeclassname": DISABLED,
    "kubernetes.podspec-schedulername": DISABLED,
    "kubernetes.podspec-securitycontext": DISABLED,
    "kubernetes.podspec-shareprocessnamespace": DISABLED,
    "kubernetes.podspec-tolerations": DISABLED,
    "kubernetes.podspec-volumes-hostpath": DISABLED,
    "kubernetes.containerspec-addcapabilities": DISABLED,
    "kubernetes.podspec-dnspolicy": DISABLED,
    "kubernetes.podspec-dnsconfig": DISABLED,
    "queueproxy.mount-podinfo": DISABLED,
    "secure-pod-defaults": DISABLED,
    "tag-header-based-routing": DISABLED,
    "autodetect-http2": DISABLED,
}


@dataclass(frozen=True, slots=True)
class Features:
    flags: Mapping[str, str] = field(default_factory=lambda: dict(FEATURE_DEFAULTS))

    def state(self, name: str) -> str:
        return self.flags.get(name, DISABLED)

    def enabled(self, name: str) -> bool:
        return self.state(name) == ENABLED

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.flags.items())))


def parse_features(data: Mapping[str, str] | None) -> Features:
    # Knative compares case-insensitively ("enabled" works too)
    r = ConfigMapReader(FEATURES_CONFIG, {k: v.strip().lower() for k, v in (data or {}).items()})
    flags = dict(FEATURE_DEFAULTS)
    for key in r.data:
        if key in FEATURE_DEFAULTS or key.startswith("kubernetes."):
            flags[key] = _STATES[r.choice(key, flags.get(key, DISABLED).lower(), _STATES)]
    r.raise_if_errors()
    return Features(flags)
