"""Channel (generic: spec.channelTemplate names the backing kind) and InMemoryChannel."""

from __future__ import annotations

from typing import Any

from knpy.apis.messaging.v1.channel_lifecycle import ChannelStatus, InMemoryChannelStatus
from knpy.apis.messaging.v1.channelable import Channelable

__all__ = ["Channel", "InMemoryChannel"]


class Channel(Channelable):
    @property
    def channel_template(self) -> dict[str, Any] | None:
        t = self.spec_raw.get("channelTemplate")
        return t if isinstance(t, dict) else None

    @property
    def status(self) -> ChannelStatus:
        return ChannelStatus(self.status_raw)

    def init_conditions(self) -> None:
        self.status.conditions.initialize()


class InMemoryChannel(Channelable):
    @property
    def status(self) -> InMemoryChannelStatus:
        return InMemoryChannelStatus(self.status_raw)

    def init_conditions(self) -> None:
        self.status.conditions.initialize()
