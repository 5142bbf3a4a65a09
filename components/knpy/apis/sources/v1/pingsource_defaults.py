"""PingSource defaults: the sink ref's namespace, and an empty schedule becomes every minute,
`* * * * *` (Knative's defaultSchedule; its rekt smoke test creates one without a schedule)."""

from __future__ import annotations

import copy
from typing import Any

from knpy.apis.sources.v1.source_duck import default_sink_namespace

__all__ = ["DEFAULT_SCHEDULE", "set_pingsource_defaults"]

DEFAULT_SCHEDULE = "* * * * *"


def set_pingsource_defaults(raw: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(raw)
    spec = out.get("spec")
    if isinstance(spec, dict):
        if not spec.get("schedule"):
            spec["schedule"] = DEFAULT_SCHEDULE
        default_sink_namespace(spec, (out.get("metadata") or {}).get("namespace", ""))
    return out
