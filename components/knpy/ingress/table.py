"""The routing table, built from KIngress specs (pure; no I/O):

    host -> [Path], each Path: prefix, header matches, rewriteHost, appendHeaders, its
    timeout and retry attempts, and its weighted splits (`Backend`s: the Service
    namespace/name/port and headers to set).

Two views: `external` holds the ExternalIP rules (the gateway's public listener), `internal`
every rule (ClusterLocal and ExternalIP: in the cluster, both are reachable). Hosts are
matched lower-cased and without a port. A Path's split is a fair weighted random pick: a
uniform draw over the cumulative percents. Rebuilt whole on any Ingress change (cheap at
the sizes a gateway sees) and swapped in, so a request sees either the old or the new table.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from knpy.runtime.config.duration import parse_go_duration

__all__ = ["Backend", "Path", "Router", "Table", "build_table", "compile_ingress"]

EXTERNAL = "ExternalIP"

Obj = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Backend:
    namespace: str
    name: str
    port: int
    header_names: frozenset[bytes]  # lower-cased, replaced on the request
    header_lines: bytes  # b"Name: value\r\n"...


@dataclass(slots=True)
class Path:
    prefix: bytes
    headers: tuple[tuple[bytes, bytes], ...]  # (lower-cased name, exact value)
    rewrite_host: bytes
    header_names: frozenset[bytes]
    header_lines: bytes
    backends: list[Backend]
    cumulative: list[int] = field(default_factory=list)
    timeout: float = 0.0  # seconds until the response starts (`timeout`); 0: none
    attempts: int = 0  # `retries.attempts`: re-dials of a split whose connect failed

    def pick(self, draw: float | None = None) -> Backend | None:
        """A backend with probability percent/total; None when every split is at 0%."""
        cum = self.cumulative
        if not cum or cum[-1] <= 0:
            return None
        x = (random.random() if draw is None else draw) * cum[-1]
        return self.backends[bisect.bisect_right(cum, x)]


def _headers(d: Any) -> tuple[frozenset[bytes], bytes]:
    items = sorted((str(k), str(v)) for k, v in d.items()) if isinstance(d, Mapping) else []
    return (frozenset(k.lower().encode("latin-1") for k, _ in items),
            b"".join(b"%s: %s\r\n" % (k.encode("latin-1"), v.encode("latin-1"))
                     for k, v in items))


def _port(v: Any) -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        return 80  # a named port: the Service's http port


def _path(p: Obj, default_ns: str) -> Path:
    backends, cum, total = [], [], 0
    for s in p.get("splits") or []:
        names, lines = _headers(s.get("appendHeaders"))
        backends.append(Backend(s.get("serviceNamespace") or default_ns,
                                s.get("serviceName") or "", _port(s.get("servicePort")),
                                names, lines))
        total += max(int(s.get("percent") or 0), 0)
        cum.append(total)
    splits = p.get("splits") or []
    if len(splits) == 1 and splits[0].get("percent") is None:  # a lone split takes it all
        cum = [100]
    names, lines = _headers(p.get("appendHeaders"))
    match = tuple(sorted((str(k).lower().encode("latin-1"),
                          str((v or {}).get("exact", "")).encode("latin-1"))
                         for k, v in (p.get("headers") or {}).items()))
    retries = p.get("retries") or {}
    return Path((p.get("path") or "").encode("latin-1"), match,
                (p.get("rewriteHost") or "").encode("latin-1"), names, lines, backends, cum,
                _seconds(p.get("timeout")), max(int(retries.get("attempts") or 0), 0))


def _seconds(v: Any) -> float:
    """A metav1.Duration ("10s", "1m30s"); the API server does not check them: a bad one
    means no timeout rather than an Ingress that cannot be programmed."""
    try:
        return max(parse_go_duration(v), 0.0) if isinstance(v, str) and v else 0.0
    except ValueError:
        return 0.0


def compile_ingress(ing: Obj) -> list[tuple[bytes, bool, Path]]:
    """(host, external, Path) for every host of every rule of one Ingress."""
    ns = (ing.get("metadata") or {}).get("namespace", "")
    out = []
    for rule in (ing.get("spec") or {}).get("rules") or []:
        external = (rule.get("visibility") or EXTERNAL) == EXTERNAL
        paths = [_path(p, ns) for p in ((rule.get("http") or {}).get("paths") or [])]
        for host in rule.get("hosts") or []:
            for p in paths:
                out.append((host.lower().encode("latin-1"), external, p))
    return out


@dataclass(frozen=True, slots=True)
class Table:
    external: dict[bytes, list[Path]]
    internal: dict[bytes, list[Path]]

    def services(self) -> set[tuple[str, str]]:
        return {(b.namespace, b.name) for paths in self.internal.values() for p in paths
                for b in p.backends}


def _ordered(paths: list[Path]) -> list[Path]:
    """Longest prefix first, and with header matches before without (most specific wins)."""
    return sorted(paths, key=lambda p: (-len(p.prefix), -len(p.headers)))


def build_table(compiled: Iterable[list[tuple[bytes, bool, Path]]]) -> Table:
    external: dict[bytes, list[Path]] = {}
    internal: dict[bytes, list[Path]] = {}
    for entries in compiled:
        for host, is_external, p in entries:
            internal.setdefault(host, []).append(p)
            if is_external:
                external.setdefault(host, []).append(p)
    return Table({h: _ordered(ps) for h, ps in external.items()},
                 {h: _ordered(ps) for h, ps in internal.items()})


class Router:
    """The current table and the compiled Ingresses it is built from, by key (ns/name)."""

    def __init__(self) -> None:
        self._compiled: dict[str, list[tuple[bytes, bool, Path]]] = {}
        self.table = build_table([])

    def current(self) -> Table:
        return self.table

    def program(self, key: str, ing: Obj) -> None:
        self._compiled[key] = compile_ingress(ing)
        self.table = build_table(self._compiled.values())

    def remove(self, key: str) -> None:
        if self._compiled.pop(key, None) is not None:
            self.table = build_table(self._compiled.values())
