"""PingSource status: sinkUri, ceAttributes and Knative's conditions (SinkProvided,
Deployed: the shared ping adapter is available)."""

from __future__ import annotations

from knpy.apis.duck.conditions import ConditionSet, Status

__all__ = ["PINGSOURCE_CONDITIONS", "PingSourceStatus"]

SINK_PROVIDED = "SinkProvided"
DEPLOYED = "Deployed"

PINGSOURCE_CONDITIONS = ConditionSet(SINK_PROVIDED, DEPLOYED)


class SinkStatus(Status):
    """Status helpers every sink-carrying source shares."""

    def mark_sink(self, uri: str) -> None:
        self.raw["sinkUri"] = uri
        self.conditions.mark_true(SINK_PROVIDED)

    def mark_no_sink(self, reason: str, message: str) -> None:
        self.raw.pop("sinkUri", None)
        self.conditions.mark_false(SINK_PROVIDED, reason, message)

    def set_ce_attributes(self, attrs: list[dict[str, str]]) -> None:
        if attrs:
            self.raw["ceAttributes"] = attrs
        else:
            self.raw.pop("ceAttributes", None)


class PingSourceStatus(SinkStatus):
    cset = PINGSOURCE_CONDITIONS

    def mark_deployed(self) -> None:
        self.conditions.mark_true(DEPLOYED)

    def mark_not_deployed(self, reason: str, message: str) -> None:
        self.conditions.mark_unknown(DEPLOYED, reason, message)

    def mark_deploy_failed(self, reason: str, message: str) -> None:
        self.conditions.mark_false(DEPLOYED, reason, message)
