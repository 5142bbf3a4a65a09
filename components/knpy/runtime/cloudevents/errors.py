"""Every error the codec raises; all are ValueErrors naming what was wrong."""

from __future__ import annotations


class CloudEventError(ValueError):
    """The message is not a valid CloudEvent."""


class InvalidAttribute(CloudEventError):
    """A context attribute is missing or malformed; `.attribute` names it."""

    def __init__(self, attribute: str, reason: str) -> None:
        super().__init__(f"{attribute}: {reason}")
        self.attribute = attribute
        self.reason = reason


class NotACloudEvent(CloudEventError):
    """Neither binary (no ce-specversion header) nor a structured envelope."""


class MalformedBody(CloudEventError):
    """A structured envelope that is not a JSON object."""


class BatchNotSupported(CloudEventError):
    """`application/cloudevents-batch+json`: the broker rejects batches."""
