"""Standalone mode (`--config FILE`): the KIngresses and Services the gateway routes, from a
YAML file instead of the API (one or more documents, each an object or a `List`), read
once at start. For running the gateway as a plain process on 127.0.0.1 (benchmarks, local
runs); no status is written. Ingresses of another class are skipped, as in a cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from knpy.apis.networking.v1alpha1.register import INGRESS_CLASS_ANNOTATION
from knpy.ingress.table import Router
from knpy.runtime.k8s import SERVICES, Lister, key_of

__all__ = ["load_config"]

Obj = dict[str, Any]


def _objects(docs: list[Any]) -> list[Obj]:
    out: list[Obj] = []
    for d in docs:
        if isinstance(d, dict) and d.get("kind") == "List":
            out += _objects(d.get("items") or [])
        elif isinstance(d, dict):
            out.append(d)
    return out


def load_config(path: Path, ingress_class: str) -> tuple[Router, Lister]:
    """Raises ValueError (naming the file) on anything but Ingress and Service objects."""
    try:
        docs = list(yaml.safe_load_all(path.read_text()))
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not YAML: {exc}") from None
    router, services = Router(), Lister(SERVICES)
    for o in _objects(docs):
        md = o.get("metadata") or {}
        if not md.get("name"):
            raise ValueError(f"{path}: an object without metadata.name")
        md.setdefault("namespace", "default")
        if o.get("kind") == "Service":
            services.put(o)
        elif o.get("kind") == "Ingress":
            cls = (md.get("annotations") or {}).get(INGRESS_CLASS_ANNOTATION)
            if cls is None or cls == ingress_class:
                router.program(key_of(o), o)
        else:
            raise ValueError(f"{path}: {o.get('kind')!r}: want Ingress or Service")
    return router, services
