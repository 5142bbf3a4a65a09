"""`default-ch-webhook` (Knative's ConfigMap, key `default-ch-config`): the channel kind a
Channel without spec.channelTemplate gets, per namespace or cluster-wide:

    default-ch-config: |
      clusterDefault:
        apiVersion: messaging.knative.dev/v1
        kind: InMemoryChannel
      namespaceDefaults:
        some-namespace:
          apiVersion: messaging.knative.dev/v1
          kind: InMemoryChannel
          spec: {delivery: {retry: 3}}
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from knpy.apis.messaging.v1.register import API_VERSION, IN_MEMORY_CHANNEL_KIND
from knpy.runtime.config import FieldError

__all__ = ["CHANNEL_DEFAULTS_CONFIG", "CHANNEL_DEFAULTS_KEY", "ChannelDefaults",
           "parse_channel_defaults"]

CHANNEL_DEFAULTS_CONFIG = "default-ch-webhook"
CHANNEL_DEFAULTS_KEY = "default-ch-config"
_IMC = {"apiVersion": API_VERSION, "kind": IN_MEMORY_CHANNEL_KIND}


@dataclass(frozen=True)
class ChannelDefaults:
    cluster_default: Mapping[str, Any] = field(default_factory=lambda: dict(_IMC))
    namespace_defaults: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def template_for(self, namespace: str) -> dict[str, Any]:
        return copy.deepcopy(dict(self.namespace_defaults.get(namespace)
                                  or self.cluster_default))


def _template(obj: Any, path: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise FieldError.invalid(obj, path, "want {apiVersion, kind, spec}")
    errs = FieldError.none()
    for k in ("apiVersion", "kind"):
        if not isinstance(obj.get(k), str) or not obj[k]:
            errs = errs.also(FieldError.missing(f"{path}.{k}"))
    if obj.get("spec") is not None and not isinstance(obj["spec"], dict):
        errs = errs.also(FieldError.invalid(obj["spec"], f"{path}.spec", "want an object"))
    for k in sorted(set(obj) - {"apiVersion", "kind", "spec"}):
        errs = errs.also(FieldError("unknown field", f"{path}.{k}"))
    if errs:
        raise errs
    return {k: obj[k] for k in ("apiVersion", "kind", "spec") if k in obj}


def parse_channel_defaults(data: Mapping[str, str]) -> ChannelDefaults:
    """Raises FieldError (paths under `default-ch-config`) for a document we would not use."""
    text = data.get(CHANNEL_DEFAULTS_KEY)
    if not text:
        return ChannelDefaults()
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise FieldError(f"not valid YAML: {e}", CHANNEL_DEFAULTS_KEY) from None
    if not isinstance(doc, dict):
        raise FieldError.invalid(doc, CHANNEL_DEFAULTS_KEY, "want a mapping")
    errs = FieldError.none()
    cluster: dict[str, Any] = dict(_IMC)
    namespaces: dict[str, dict[str, Any]] = {}
    try:
        if doc.get("clusterDefault") is not None:
            cluster = _template(doc["clusterDefault"], "clusterDefault")
    except FieldError as e:
        errs = errs.also(e)
    nsd = doc.get("namespaceDefaults") or {}
    if not isinstance(nsd, dict):
        errs = errs.also(FieldError.invalid(nsd, "namespaceDefaults", "want a mapping"))
        nsd = {}
    for ns, t in nsd.items():
        try:
            namespaces[str(ns)] = _template(t, f"namespaceDefaults[{ns}]")
        except FieldError as e:
            errs = errs.also(e)
    for k in sorted(set(doc) - {"clusterDefault", "namespaceDefaults"}):
        errs = errs.also(FieldError("unknown field", str(k)))
    if errs:
        raise errs.via_field(CHANNEL_DEFAULTS_KEY)
    return ChannelDefaults(cluster, namespaces)
