"""The autoscaler's `Stat` message and its proto3 wire format, compatible with Knative.

Knative's `pkg/autoscaler/metrics/stat.proto` (package `metrics`):

    message Stat {
      string pod_name = 1;
      double average_concurrent_requests = 2;
      double average_proxied_concurrent_requests = 3;
      double request_count = 4;
      double proxied_request_count = 5;
      double process_uptime = 6;
      int64  timestamp = 7;
    }

The queue-proxy serves one encoded `Stat` on :9090/metrics (`application/protobuf`).
Fields equal to their default (0, "") are omitted, as proto3 does, and the encoder writes
them in field-number order, so output is byte-identical to Go's gogo/protobuf marshaller.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import cast

from knpy.runtime.contract import _protowire as pw
from knpy.runtime.contract._protowire import WireError

__all__ = ["CONTENT_TYPE", "Stat", "WireError", "decode_stat", "encode_stat"]

CONTENT_TYPE = "application/protobuf"

_DOUBLE_FIELDS = (
    (2, "average_concurrent_requests"),
    (3, "average_proxied_concurrent_requests"),
    (4, "request_count"),
    (5, "proxied_request_count"),
    (6, "process_uptime"),
)
_DOUBLE_BY_NUMBER = dict(_DOUBLE_FIELDS)


@dataclass(slots=True)
class Stat:
    """One pod's report for one second (or the activator's, per revision)."""

    pod_name: str = ""
    average_concurrent_requests: float = 0.0
    average_proxied_concurrent_requests: float = 0.0
    request_count: float = 0.0
    proxied_request_count: float = 0.0
    process_uptime: float = 0.0
    timestamp: int = 0


def _is_default(value: float) -> bool:
    # Knative's Go marshaller writes a double only when `value != 0`: both zeros are
    # omitted, NaN is written. Match it so the bytes are identical.
    return value == 0.0 and not math.isnan(value)


def write_stat(out: bytearray, stat: Stat) -> None:
    """Append the encoding of `stat` to `out` (used for embedding in other messages)."""
    if stat.pod_name:
        pw.put_bytes(out, 1, stat.pod_name.encode("utf-8"))
    for number, name in _DOUBLE_FIELDS:
        value = getattr(stat, name)
        if not _is_default(value):
            pw.put_double(out, number, value)
    if stat.timestamp:
        if not -(1 << 63) <= stat.timestamp < (1 << 63):
            raise ValueError(f"Stat.timestamp {stat.timestamp} does not fit in int64")
        pw.put_tag(out, 7, pw.VARINT)
        pw.put_varint(out, stat.timestamp)


def encode_stat(stat: Stat) -> bytes:
    """Encode `stat` as a proto3 `metrics.Stat`."""
    out = bytearray()
    write_stat(out, stat)
    return bytes(out)


def decode_stat(data: bytes | bytearray | memoryview) -> Stat:
    """Decode a proto3 `metrics.Stat`; unknown fields are skipped.

    Raises WireError (a ValueError) naming the field on truncated or mistyped input.
    """
    stat = Stat()
    for number, wire_type, value in pw.fields(data, "Stat"):
        if number == 1:
            pw.expect("Stat", "pod_name", wire_type, pw.LEN)
            try:
                stat.pod_name = bytes(cast(memoryview, value)).decode("utf-8")
            except UnicodeDecodeError as exc:
                raise WireError(f"Stat.pod_name is not valid UTF-8: {exc}") from None
        elif number in _DOUBLE_BY_NUMBER:
            name = _DOUBLE_BY_NUMBER[number]
            pw.expect("Stat", name, wire_type, pw.FIXED64)
            setattr(stat, name, pw.get_double(cast(memoryview, value), 0, f"Stat.{name}")[0])
        elif number == 7:
            pw.expect("Stat", "timestamp", wire_type, pw.VARINT)
            stat.timestamp = pw.to_int64(cast(int, value))
    return stat
