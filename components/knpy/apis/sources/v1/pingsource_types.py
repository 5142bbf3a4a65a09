"""PingSource: spec.schedule, timezone, contentType, data | dataBase64, sink, ceOverrides."""

from __future__ import annotations

import base64

from knpy.apis.duck.conditions import ConditionManager
from knpy.apis.sources.v1.pingsource_lifecycle import PingSourceStatus
from knpy.apis.sources.v1.register import PING_EVENT_TYPE, ping_source_attribute
from knpy.apis.sources.v1.source_duck import SourceView

__all__ = ["PingSource"]


class PingSource(SourceView):
    @property
    def schedule(self) -> str:
        return str(self.spec_raw.get("schedule") or "")

    @property
    def timezone(self) -> str:
        return str(self.spec_raw.get("timezone") or "")

    @property
    def content_type(self) -> str:
        return str(self.spec_raw.get("contentType") or "")

    @property
    def data(self) -> bytes | None:
        """The event payload: `data` as UTF-8, or `dataBase64` decoded; None when unset."""
        if self.spec_raw.get("dataBase64"):
            return base64.b64decode(self.spec_raw["dataBase64"])
        d = self.spec_raw.get("data")
        return str(d).encode() if d else None

    @property
    def event_source(self) -> str:
        return ping_source_attribute(self.namespace, self.name)

    def ce_attributes(self) -> list[dict[str, str]]:
        return [{"type": PING_EVENT_TYPE, "source": self.event_source}]

    @property
    def status(self) -> PingSourceStatus:
        return PingSourceStatus(self.status_raw)

    @property
    def conditions(self) -> ConditionManager:
        return self.status.conditions
