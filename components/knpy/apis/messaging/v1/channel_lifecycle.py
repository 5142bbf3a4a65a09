"""Channel and InMemoryChannel status: the conditions Knative names."""

from __future__ import annotations

from typing import Any

from knpy.apis.duck.conditions import ConditionSet
from knpy.apis.duck.delivery import ADDRESSABLE, DEAD_LETTER_SINK_RESOLVED
from knpy.apis.messaging.v1.channelable import ChannelableStatus

__all__ = ["CHANNEL_CONDITIONS", "IN_MEMORY_CHANNEL_CONDITIONS", "ChannelStatus",
           "InMemoryChannelStatus"]

BACKING_CHANNEL_READY = "BackingChannelReady"
DISPATCHER_READY = "DispatcherReady"
SERVICE_READY = "ServiceReady"
ENDPOINTS_READY = "EndpointsReady"
CHANNEL_SERVICE_READY = "ChannelServiceReady"

CHANNEL_CONDITIONS = ConditionSet(BACKING_CHANNEL_READY, ADDRESSABLE,
                                  DEAD_LETTER_SINK_RESOLVED)
IN_MEMORY_CHANNEL_CONDITIONS = ConditionSet(DISPATCHER_READY, SERVICE_READY, ENDPOINTS_READY,
                                            ADDRESSABLE, CHANNEL_SERVICE_READY,
                                            DEAD_LETTER_SINK_RESOLVED)


class ChannelStatus(ChannelableStatus):
    cset = CHANNEL_CONDITIONS

    def propagate_backing(self, ref: dict[str, Any], backing: dict[str, Any] | None) -> None:
        """Knative's Channel mirrors its backing channel: address, subscribers, DLS, and
        BackingChannelReady from the backing channel's Ready."""
        self.raw["channel"] = ref
        st = (backing or {}).get("status") or {}
        if backing is None:
            self.conditions.mark_unknown(BACKING_CHANNEL_READY, "BackingChannelNotFound",
                                         f"{ref['kind']} {ref['name']!r} does not exist yet")
            self.set_address(None)
            self.set_subscribers([])
            return
        ready = next((c for c in st.get("conditions") or [] if c.get("type") == "Ready"),
                     None) or {}
        if ready.get("status") == "True":
            self.conditions.mark_true(BACKING_CHANNEL_READY)
        elif ready.get("status") == "False":
            self.conditions.mark_false(BACKING_CHANNEL_READY,
                                       ready.get("reason") or "BackingChannelFailed",
                                       ready.get("message") or "")
        else:
            self.conditions.mark_unknown(BACKING_CHANNEL_READY,
                                         ready.get("reason") or "BackingChannelNotReady",
                                         ready.get("message") or "")
        self.set_address((st.get("address") or {}).get("url"))
        self.set_subscribers([s for s in st.get("subscribers") or [] if isinstance(s, dict)])
        dls = st.get("deadLetterSinkUri")
        if dls:
            self.mark_dead_letter_sink_resolved(dls)
        else:
            self.mark_dead_letter_sink_not_configured()


class InMemoryChannelStatus(ChannelableStatus):
    cset = IN_MEMORY_CHANNEL_CONDITIONS

    def mark_service_ready(self) -> None:
        self.conditions.mark_true(SERVICE_READY)
        self.conditions.mark_true(CHANNEL_SERVICE_READY)

    def mark_service_failed(self, reason: str, message: str) -> None:
        self.conditions.mark_false(SERVICE_READY, reason, message)
        self.conditions.mark_false(CHANNEL_SERVICE_READY, reason, message)

    def mark_dispatcher_ready(self) -> None:
        # the broker ingress and dispatcher serve it: they are its endpoints
        self.conditions.mark_true(DISPATCHER_READY)
        self.conditions.mark_true(ENDPOINTS_READY)

    def mark_dispatcher_not_ready(self, reason: str, message: str) -> None:
        self.conditions.mark_unknown(DISPATCHER_READY, reason, message)
        self.conditions.mark_unknown(ENDPOINTS_READY, reason, message)
