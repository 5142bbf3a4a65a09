"""The few proto3 wire primitives the contract codecs need, written by hand.

Only varint (0), fixed64 (1) and length-delimited (2) fields are produced; the reader also
skips fixed32 (5) so unknown fields of any non-group type can be ignored, as proto3 requires.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

VARINT = 0
FIXED64 = 1
LEN = 2
FIXED32 = 5

_DOUBLE = struct.Struct("<d")
_U64_MASK = (1 << 64) - 1


class WireError(ValueError):
    """Malformed protobuf input: truncated, over-long varint, or a field of the wrong type."""


def put_varint(out: bytearray, value: int) -> None:
    """Append `value` as a base-128 varint; negatives use 64-bit two's complement (10 bytes)."""
    value &= _U64_MASK
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def put_tag(out: bytearray, field: int, wire_type: int) -> None:
    put_varint(out, (field << 3) | wire_type)


def put_double(out: bytearray, field: int, value: float) -> None:
    put_tag(out, field, FIXED64)
    out += _DOUBLE.pack(value)


def put_bytes(out: bytearray, field: int, value: bytes) -> None:
    put_tag(out, field, LEN)
    put_varint(out, len(value))
    out += value


def get_varint(data: bytes | memoryview, pos: int, what: str) -> tuple[int, int]:
    """Read a varint at `pos`; returns (unsigned value, next position)."""
    result = 0
    shift = 0
    end = len(data)
    while True:
        if pos >= end:
            raise WireError(f"truncated varint in {what} at byte {pos}")
        if shift >= 64:
            raise WireError(f"varint longer than 10 bytes in {what} at byte {pos}")
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result & _U64_MASK, pos
        shift += 7


def to_int64(value: int) -> int:
    """Reinterpret an unsigned 64-bit varint value as a signed int64."""
    return value - (1 << 64) if value >= 1 << 63 else value


def get_double(data: bytes | memoryview, pos: int, what: str) -> tuple[float, int]:
    if pos + 8 > len(data):
        raise WireError(f"truncated double in {what} at byte {pos}")
    return _DOUBLE.unpack_from(data, pos)[0], pos + 8


def fields(data: bytes | bytearray | memoryview, message: str) -> Iterator[tuple[int, int, object]]:
    """Yield (field number, wire type, value) for every field of a message.

    value is an int for varints, raw 8-byte/4-byte memoryviews for fixed fields, and a
    memoryview of the payload for length-delimited fields.
    """
    view = memoryview(data)
    pos = 0
    end = len(view)
    while pos < end:
        key, pos = get_varint(view, pos, f"{message} field key")
        field, wire_type = key >> 3, key & 7
        if field == 0:
            raise WireError(f"{message}: illegal field number 0 at byte {pos}")
        if wire_type == VARINT:
            value, pos = get_varint(view, pos, f"{message} field {field}")
            yield field, wire_type, value
        elif wire_type == FIXED64:
            if pos + 8 > end:
                raise WireError(f"{message}: truncated fixed64 field {field} at byte {pos}")
            yield field, wire_type, view[pos:pos + 8]
            pos += 8
        elif wire_type == LEN:
            length, pos = get_varint(view, pos, f"{message} field {field} length")
            if pos + length > end:
                raise WireError(f"{message}: field {field} declares {length} bytes, "
                                f"only {end - pos} remain")
            yield field, wire_type, view[pos:pos + length]
            pos += length
        elif wire_type == FIXED32:
            if pos + 4 > end:
                raise WireError(f"{message}: truncated fixed32 field {field} at byte {pos}")
            yield field, wire_type, view[pos:pos + 4]
            pos += 4
        else:
            raise WireError(f"{message}: unsupported wire type {wire_type} for field {field}")


def expect(message: str, name: str, wire_type: int, want: int) -> None:
    if wire_type != want:
        raise WireError(f"{message}.{name}: wrong wire type {wire_type} (want {want})")
