"""Kubernetes Events (core/v1, served by every version we support) for reconcilers.

Recording is best-effort: a failed Event write is logged and never fails a reconcile.
`MemoryRecorder` keeps "Type Reason message" strings for table tests.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import uuid

from knpy.runtime.k8s.client import Client
from knpy.runtime.k8s.resources import EVENTS, Obj

__all__ = ["NORMAL", "WARNING", "EventRecorder", "MemoryRecorder", "Recorder"]

NORMAL = "Normal"
WARNING = "Warning"
log = logging.getLogger("knpy.k8s.events")


class Recorder:
    async def event(self, obj: Obj, type_: str, reason: str, message: str) -> None:
        raise NotImplementedError


class MemoryRecorder(Recorder):
    def __init__(self) -> None:
        self.events: list[str] = []

    async def event(self, obj: Obj, type_: str, reason: str, message: str) -> None:
        self.events.append(f"{type_} {reason} {message}")


class EventRecorder(Recorder):
    def __init__(self, client: Client, component: str, host: str | None = None) -> None:
        self.client = client
        self.component = component
        self.host = host or os.environ.get("POD_NAME") or os.uname().nodename

    async def event(self, obj: Obj, type_: str, reason: str, message: str) -> None:
        md = obj.get("metadata") or {}
        ns = md.get("namespace") or "default"
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        ev = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{md.get('name', 'x')}.{uuid.uuid4().hex[:16]}",
                         "namespace": ns},
            "involvedObject": {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"),
                               "name": md.get("name"), "namespace": md.get("namespace"),
                               "uid": md.get("uid"),
                               "resourceVersion": md.get("resourceVersion")},
            "type": type_, "reason": reason, "message": message[:1024],
            "source": {"component": self.component, "host": self.host},
            "reportingComponent": self.component, "reportingInstance": self.host,
            "firstTimestamp": now, "lastTimestamp": now, "count": 1,
        }
        try:
            await self.client.create(EVENTS, ev)
        except Exception as exc:
            log.warning("could not record event %s/%s: %s", reason, md.get("name"), exc)
