"""The event a PingSource sends (Knative's ping adapter): type dev.knative.sources.ping,
source /apis/v1/namespaces/<ns>/pingsources/<name>, a fresh UUID id, time = the scheduled
firing time, data = spec.data (or spec.dataBase64 decoded) with contentType as
datacontenttype, plus any ceOverrides extensions."""

from __future__ import annotations

import datetime as dt
import uuid

from knpy.apis.sources.v1 import PingSource
from knpy.apis.sources.v1.register import PING_EVENT_TYPE
from knpy.runtime.cloudevents import SPECVERSION, CloudEvent, make_event

__all__ = ["ping_event", "rfc3339"]


def rfc3339(t: dt.datetime) -> str:
    t = t.astimezone(dt.UTC)
    frac = f".{t.microsecond:06d}".rstrip("0").rstrip(".") if t.microsecond else ""
    return t.strftime("%Y-%m-%dT%H:%M:%S") + frac + "Z"


def ping_event(src: PingSource, at: dt.datetime, event_id: str | None = None) -> CloudEvent:
    attrs: dict[str, str] = {}
    attrs.update(src.ce_overrides)  # extensions first: core attributes always win
    attrs.update({"specversion": SPECVERSION, "id": event_id or str(uuid.uuid4()),
                  "source": src.event_source, "type": PING_EVENT_TYPE, "time": rfc3339(at)})
    data = src.data
    if data is not None and src.content_type:
        attrs["datacontenttype"] = src.content_type
    return make_event(attrs, data)
