"""The one CloudEvents codec: binary/structured HTTP binding, validation; pure, no I/O."""

from knpy.runtime.cloudevents.errors import (
    BatchNotSupported,
    CloudEventError,
    InvalidAttribute,
    MalformedBody,
    NotACloudEvent,
)
from knpy.runtime.cloudevents.event import SPECVERSION, CloudEvent, attr_to_str, make_event
from knpy.runtime.cloudevents.http import (
    BATCH,
    STRUCTURED,
    Mode,
    detect_mode,
    from_binary,
    from_http,
    from_structured,
    has_binary_attributes,
    is_json,
    media_type,
    percent_decode,
    percent_encode,
    to_binary,
    to_structured,
)

__all__ = [
    "BATCH", "SPECVERSION", "STRUCTURED", "BatchNotSupported", "CloudEvent", "CloudEventError",
    "InvalidAttribute", "MalformedBody", "Mode", "NotACloudEvent", "attr_to_str",
    "detect_mode", "from_binary", "from_http", "from_structured", "has_binary_attributes",
    "is_json", "make_event", "media_type", "percent_decode", "percent_encode", "to_binary",
    "to_structured",
]
