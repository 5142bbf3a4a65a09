"""The events an ApiServerSource emits (Knative's apiserver adapter), pure:

- type dev.knative.apiserver.resource.{add,update,delete} (mode Resource: data is the
  object) or dev.knative.apiserver.ref.{add,update,delete} (mode Reference: data is an
  ObjectReference {kind, namespace, name, apiVersion});
- source: the API server's URL; subject: /apis/<apiVersion>/namespaces/<ns>/<plural>/<name>;
- extensions kind, name, namespace (so triggers can filter on them);
- datacontenttype application/json, a fresh UUID id, time = now.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from knpy.apis.sources.v1 import register as r
from knpy.runtime.cloudevents import SPECVERSION, CloudEvent, make_event

__all__ = ["ADD", "DELETE", "UPDATE", "apiserver_event", "object_ref", "self_link"]

ADD, UPDATE, DELETE = "add", "update", "delete"
_TYPES = {
    (r.MODE_RESOURCE, ADD): r.APISERVER_ADD, (r.MODE_RESOURCE, UPDATE): r.APISERVER_UPDATE,
    (r.MODE_RESOURCE, DELETE): r.APISERVER_DELETE, (r.MODE_REFERENCE, ADD): r.APISERVER_REF_ADD,
    (r.MODE_REFERENCE, UPDATE): r.APISERVER_REF_UPDATE,
    (r.MODE_REFERENCE, DELETE): r.APISERVER_REF_DELETE,
}


def self_link(api_version: str, namespace: str, plural: str, name: str) -> str:
    if namespace:
        return f"/apis/{api_version}/namespaces/{namespace}/{plural}/{name}"
    return f"/apis/{api_version}/{plural}/{name}"


def object_ref(obj: dict[str, Any]) -> dict[str, str]:
    md = obj.get("metadata") or {}
    ref = {"kind": obj.get("kind", ""), "namespace": md.get("namespace", ""),
           "name": md.get("name", ""), "apiVersion": obj.get("apiVersion", "")}
    return {k: v for k, v in ref.items() if v}


def apiserver_event(source: str, mode: str, op: str, obj: dict[str, Any], plural: str,
                    extensions: dict[str, str] | None = None,
                    now: dt.datetime | None = None) -> CloudEvent:
    md = obj.get("metadata") or {}
    attrs: dict[str, str] = dict(extensions or {})
    ns = md.get("namespace", "")
    attrs.update({
        "specversion": SPECVERSION, "id": str(uuid.uuid4()), "source": source,
        "type": _TYPES[(mode, op)],
        "subject": self_link(obj.get("apiVersion", ""), ns, plural, md.get("name", "")),
        "time": (now or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "datacontenttype": "application/json",
        "kind": obj.get("kind", ""), "name": md.get("name", "")})
    if ns:
        attrs["namespace"] = ns
    data = obj if mode == r.MODE_RESOURCE else object_ref(obj)
    return make_event({k: v for k, v in attrs.items() if v != ""},
                      json.dumps(data, separators=(",", ":")).encode())
