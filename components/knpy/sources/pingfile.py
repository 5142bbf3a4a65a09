"""Standalone mode: PingSources from a YAML file (documents, a list, or a List's items).

Each entry is validated like admission would (errors name the field, e.g.
`spec.schedule`); bad entries are skipped and logged. The file is re-read when it changes
(its mtime), and sources that disappeared from it stop firing.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Any

import yaml

from knpy.apis.sources.v1 import validate_pingsource
from knpy.apis.sources.v1.register import API_VERSION
from knpy.sources.ping import PingScheduler

__all__ = ["load_pingsources", "watch_file"]

log = logging.getLogger("knpy.sources.pingfile")


def load_pingsources(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """(valid PingSources, one error line per bad one)."""
    docs: list[Any] = []
    for d in yaml.safe_load_all(path.read_text()):
        if isinstance(d, list):
            docs.extend(d)
        elif isinstance(d, dict) and isinstance(d.get("items"), list):
            docs.extend(d["items"])
        elif d is not None:
            docs.append(d)
    good, bad = [], []
    for i, d in enumerate(docs):
        if not isinstance(d, dict) or d.get("kind") != "PingSource":
            bad.append(f"entry {i}: not a PingSource")
            continue
        if d.get("apiVersion") not in (None, API_VERSION):
            bad.append(f"entry {i}: apiVersion {d.get('apiVersion')!r} (want {API_VERSION})")
            continue
        md = d.setdefault("metadata", {})
        md.setdefault("namespace", "default")
        if not md.get("name"):
            bad.append(f"entry {i}: missing field(s): metadata.name")
            continue
        errs = validate_pingsource(d)
        if errs:
            bad.extend(f"{md['namespace']}/{md['name']}: {m}" for m in errs.messages())
            continue
        good.append(d)
    return good, bad


def apply_file(path: Path, sched: PingScheduler) -> list[str]:
    good, bad = load_pingsources(path)
    for line in bad:
        log.error("%s: %s", path, line)
    keys = set()
    for d in good:
        if sched.upsert(d):
            keys.add(f"{d['metadata']['namespace']}/{d['metadata']['name']}")
    for k in set(sched.keys()) - keys:
        sched.remove(k)
    return bad


async def watch_file(path: Path, sched: PingScheduler, every: float = 1.0) -> None:
    last = None
    while True:
        try:
            mtime = os.stat(path).st_mtime_ns
            if mtime != last:
                last = mtime
                apply_file(path, sched)
                log.info("%s: %d PingSource(s) scheduled", path, len(sched.keys()))
        except (OSError, yaml.YAMLError) as exc:
            log.error("%s: %s", path, exc)
        await asyncio.sleep(every)
