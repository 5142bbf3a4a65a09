"""Activator -> autoscaler stat batches: Knative's `WireStatMessages`, sent as binary
websocket frames.

    message WireStatMessage  { string namespace = 1; string name = 2; Stat stat = 3; }
    message WireStatMessages { repeated WireStatMessage messages = 1; }

(`pkg/autoscaler/metrics/protocol` in Knative Serving.) A message whose `stat` is absent
decodes with `stat=None`; Knative drops such messages, and so do our consumers.

knpy adds two fields, `string traceparent = 100; string tracestate = 101;`: the W3C
trace context of the request behind an activator's poke, so the autoscaler's span for it
joins that request's trace. They are sent only when set; Knative's autoscaler skips them
as unknown fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from knpy.runtime.contract import _protowire as pw
from knpy.runtime.contract._protowire import WireError
from knpy.runtime.contract.stat import Stat, decode_stat, write_stat

__all__ = ["WireError", "WireStatMessage", "decode_wire_stats", "encode_wire_stats"]

# knpy's fields, far above Knative's 1..3 so a later Knative field cannot collide
TRACEPARENT_FIELD = 100
TRACESTATE_FIELD = 101


@dataclass(slots=True)
class WireStatMessage:
    """A Stat for the revision `namespace/name`."""

    namespace: str = ""
    name: str = ""
    stat: Stat | None = None
    traceparent: str = ""  # knpy extension (field 100): the poking request's trace context
    tracestate: str = ""   # knpy extension (field 101)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


def _write_message(out: bytearray, msg: WireStatMessage) -> None:
    if msg.namespace:
        pw.put_bytes(out, 1, msg.namespace.encode("utf-8"))
    if msg.name:
        pw.put_bytes(out, 2, msg.name.encode("utf-8"))
    if msg.stat is not None:
        inner = bytearray()
        write_stat(inner, msg.stat)
        pw.put_bytes(out, 3, bytes(inner))
    if msg.traceparent:
        pw.put_bytes(out, TRACEPARENT_FIELD, msg.traceparent.encode("latin-1"))
    if msg.tracestate:
        pw.put_bytes(out, TRACESTATE_FIELD, msg.tracestate.encode("latin-1"))


def encode_wire_stats(messages: list[WireStatMessage]) -> bytes:
    """Encode a batch as `WireStatMessages`."""
    out = bytearray()
    for msg in messages:
        inner = bytearray()
        _write_message(inner, msg)
        pw.put_bytes(out, 1, bytes(inner))
    return bytes(out)


def _utf8(value: object, field: str) -> str:
    try:
        return bytes(cast(memoryview, value)).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WireError(f"{field} is not valid UTF-8: {exc}") from None


def _decode_message(data: memoryview) -> WireStatMessage:
    msg = WireStatMessage()
    stat_parts: list[bytes] = []
    for number, wire_type, value in pw.fields(data, "WireStatMessage"):
        if number == 1:
            pw.expect("WireStatMessage", "namespace", wire_type, pw.LEN)
            msg.namespace = _utf8(value, "WireStatMessage.namespace")
        elif number == 2:
            pw.expect("WireStatMessage", "name", wire_type, pw.LEN)
            msg.name = _utf8(value, "WireStatMessage.name")
        elif number == 3:
            pw.expect("WireStatMessage", "stat", wire_type, pw.LEN)
            stat_parts.append(bytes(cast(memoryview, value)))
        elif number == TRACEPARENT_FIELD:
            pw.expect("WireStatMessage", "traceparent", wire_type, pw.LEN)
            msg.traceparent = _utf8(value, "WireStatMessage.traceparent")
        elif number == TRACESTATE_FIELD:
            pw.expect("WireStatMessage", "tracestate", wire_type, pw.LEN)
            msg.tracestate = _utf8(value, "WireStatMessage.tracestate")
    if stat_parts:
        # A repeated embedded message merges; decoding the concatenation does exactly that.
        msg.stat = decode_stat(b"".join(stat_parts))
    return msg


def decode_wire_stats(data: bytes | bytearray | memoryview) -> list[WireStatMessage]:
    """Decode `WireStatMessages`; unknown fields are skipped, bad input raises WireError."""
    out: list[WireStatMessage] = []
    for number, wire_type, value in pw.fields(data, "WireStatMessages"):
        if number == 1:
            pw.expect("WireStatMessages", "messages", wire_type, pw.LEN)
            out.append(_decode_message(cast(memoryview, value)))
    return out
