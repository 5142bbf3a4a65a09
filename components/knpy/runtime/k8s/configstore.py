"""Config maps watched and applied live.

A `ConfigStore` watches named ConfigMaps in one namespace and keeps, per name, the frozen
config its parser built. A ConfigMap that fails to parse keeps the last good config (and
the error is logged and kept in `.errors`), so a typo never takes a running controller back
to defaults. A missing ConfigMap means defaults (`parser({})`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from knpy.runtime.k8s.client import Client
from knpy.runtime.k8s.informer import Informer
from knpy.runtime.k8s.resources import CONFIGMAPS, Obj

__all__ = ["ConfigStore"]

log = logging.getLogger("knpy.k8s.config")

Parser = Callable[[Mapping[str, str]], Any]


class ConfigStore:
    def __init__(self, client: Client | None, namespace: str, parsers: Mapping[str, Parser],
                 on_change: Callable[[str, Any], None] | None = None) -> None:
        self.namespace = namespace
        self.parsers = dict(parsers)
        self.on_change = on_change
        self.errors: dict[str, Exception] = {}
        self._current: dict[str, Any] = {name: p({}) for name, p in self.parsers.items()}
        self.informer = (Informer(client, CONFIGMAPS, namespace=namespace)
                         if client is not None else None)
        if self.informer is not None:
            self.informer.add_handler(self.apply, lambda _o, n: self.apply(n), self._deleted)

    def get(self, name: str) -> Any:
        return self._current[name]

    def apply(self, cm: Obj) -> None:
        name = cm["metadata"]["name"]
        parser = self.parsers.get(name)
        if parser is None:
            return
        try:
            cfg = parser(cm.get("data") or {})
        except ValueError as exc:
            self.errors[name] = exc
            log.error("ConfigMap %s/%s rejected, keeping the previous config: %s",
                      self.namespace, name, exc)
            return
        self.errors.pop(name, None)
        self._set(name, cfg)

    def _deleted(self, cm: Obj) -> None:
        name = cm["metadata"]["name"]
        if name in self.parsers:
            self._set(name, self.parsers[name]({}))

    def _set(self, name: str, cfg: Any) -> None:
        if self._current.get(name) == cfg:
            return
        self._current[name] = cfg
        log.info("config %s applied", name)
        if self.on_change is not None:
            self.on_change(name, cfg)
