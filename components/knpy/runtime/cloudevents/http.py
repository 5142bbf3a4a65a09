"""CloudEvents HTTP protocol binding 1.0: pure functions between (headers, body) and events.

Binary mode: context attributes in `ce-*` headers (names case-insensitive, values
percent-encoded as UTF-8), Content-Type is `datacontenttype`, the body is `data` untouched.
Structured mode: `application/cloudevents+json`, the JSON event format. Batch mode
(`application/cloudevents-batch+json`) is detected and refused with BatchNotSupported.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import re
from collections.abc import Iterable
from urllib.parse import unquote_to_bytes

from knpy.runtime.cloudevents.errors import (
    BatchNotSupported,
    CloudEventError,
    InvalidAttribute,
    MalformedBody,
    NotACloudEvent,
)
from knpy.runtime.cloudevents.event import V03, AttrValue, CloudEvent, attr_to_str, make_event

STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"

Headers = Iterable[tuple[str, str]]


class Mode(enum.Enum):
    BINARY = "binary"
    STRUCTURED = "structured"
    BATCH = "batch"
    UNSUPPORTED = "unsupported"  # application/cloudevents+<format other than json>


def media_type(content_type: str | None) -> str:
    """The lower-case `type/subtype` of a Content-Type value ('' if absent)."""
    if not content_type:
        return ""
    return content_type.split(";", 1)[0].strip().lower()


def detect_mode(content_type: str | None) -> Mode:
    mt = media_type(content_type)
    if mt == STRUCTURED:
        return Mode.STRUCTURED
    if mt == BATCH:
        return Mode.BATCH
    if mt.startswith("application/cloudevents"):
        return Mode.UNSUPPORTED
    return Mode.BINARY


def is_json(content_type: str | None) -> bool:
    """Whether a datacontenttype denotes JSON (absent means JSON, per the JSON format)."""
    mt = media_type(content_type)
    return mt == "" or mt in ("application/json", "text/json") or mt.endswith("+json")


# -------------------------------------------------------------------- percent-encoding

def _must_encode(ch: str) -> bool:
    o = ord(ch)
    return o <= 0x20 or o >= 0x7F or ch in '"%'


# Anything but printable ASCII minus `"` and `%` needs encoding.
_NEEDS_ENCODING = re.compile(r'[^\x21\x23\x24\x26-\x7e]')


def percent_encode(value: str) -> str:
    """Encode space, `"`, `%` and everything outside printable ASCII (binding 3.1.3.2)."""
    if _NEEDS_ENCODING.search(value) is None:
        return value
    out: list[str] = []
    for c in value:
        if _must_encode(c):
            out.extend(f"%{b:02X}" for b in c.encode("utf-8"))
        else:
            out.append(c)
    return "".join(out)


def percent_decode(name: str, value: str) -> str:
    if "%" not in value:
        return value
    try:
        return unquote_to_bytes(value).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidAttribute(name, "percent-decoded value is not UTF-8") from None


# -------------------------------------------------------------------- decoding

def from_http(headers: Headers, body: bytes) -> CloudEvent:
    """Decode a request/response in any supported mode; raises a CloudEventError subclass."""
    content_type = None
    pairs = list(headers)
    for k, v in pairs:
        if k.lower() == "content-type":
            content_type = v
            break
    mode = detect_mode(content_type)
    if mode is Mode.BINARY:
        return from_binary(pairs, body)
    if mode is Mode.STRUCTURED:
        return from_structured(body)
    if mode is Mode.BATCH:
        raise BatchNotSupported("batched content mode is not supported")
    raise NotACloudEvent(f"unsupported event format {media_type(content_type)!r}")


def has_binary_attributes(headers: Headers) -> bool:
    return any(k[:3].lower() == "ce-" for k, _ in headers)


def from_binary(headers: Headers, body: bytes) -> CloudEvent:
    attrs: dict[str, AttrValue] = {}
    content_type = None
    for k, v in headers:
        lk = k.lower()
        if lk.startswith("ce-"):
            name = lk[3:]
            if name not in attrs:  # a repeated header keeps its first value
                attrs[name] = percent_decode(name, v)
        elif lk == "content-type":
            content_type = v
    if not attrs:
        raise NotACloudEvent("no ce-* headers and not a structured event")
    if content_type is not None and "datacontenttype" not in attrs:
        attrs["datacontenttype"] = content_type
    return make_event(attrs, body if body else None)


# What the JSON decoder and encoder raise for input they reject: malformed text, bad
# encodings, and nesting deeper than the C recursion limit (RecursionError).
_JSON_ERRORS = (ValueError, UnicodeDecodeError, RecursionError)


def _base64(name: str, raw: object) -> bytes:
    if not isinstance(raw, str):
        raise InvalidAttribute(name, "must be a base64 string")
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidAttribute(name, "not valid base64") from None


def from_structured(body: bytes) -> CloudEvent:
    try:
        obj = json.loads(body)
    except RecursionError:
        raise MalformedBody("structured event is nested too deeply to decode") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise MalformedBody(f"structured event is not valid JSON: {e}") from None
    if not isinstance(obj, dict):
        raise MalformedBody("structured event must be a JSON object")
    attrs: dict[str, AttrValue] = {}
    for name, value in obj.items():
        if name in ("data", "data_base64") or value is None:
            continue
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, str | int | bool):
            raise InvalidAttribute(name, f"unsupported JSON type {type(value).__name__}")
        attrs[name] = value
    data: bytes | None = None
    if obj.get("data_base64") is not None:
        if "data" in obj and obj["data"] is not None:
            raise InvalidAttribute("data_base64", "data and data_base64 are mutually exclusive")
        data = _base64("data_base64", obj["data_base64"])
    elif obj.get("data") is not None:
        value = obj["data"]
        ct = attrs.get("datacontenttype")
        if attrs.get("specversion") == V03 and \
                str(attrs.get("datacontentencoding", "")).lower() == "base64":
            # 0.3 carried binary data as a base64 string in `data`; 1.0 has raw bytes.
            data = _base64("data", value)
            del attrs["datacontentencoding"]
        elif isinstance(value, str) and not is_json(ct if isinstance(ct, str) else None):
            data = value.encode("utf-8")
        else:
            try:
                data = json.dumps(value, separators=(",", ":"),
                                  ensure_ascii=False).encode("utf-8")
            except RecursionError:
                raise MalformedBody("data is nested too deeply to encode") from None
    return make_event(attrs, data)


# -------------------------------------------------------------------- encoding

def to_binary(event: CloudEvent) -> tuple[list[tuple[str, str]], bytes]:
    """Headers (`ce-*` percent-encoded, Content-Type from datacontenttype) and body."""
    headers: list[tuple[str, str]] = []
    for name, value in event.attributes.items():
        if name == "datacontenttype":
            headers.append(("Content-Type", attr_to_str(value)))
        else:
            headers.append(("ce-" + name, percent_encode(attr_to_str(value))))
    return headers, event.data or b""


def to_structured(event: CloudEvent) -> tuple[list[tuple[str, str]], bytes]:
    """`application/cloudevents+json` headers and body; JSON data embedded, else base64."""
    obj: dict[str, object] = dict(event.attributes)
    if event.data is not None:
        embedded = False
        if is_json(event.datacontenttype):
            try:
                obj["data"] = json.loads(event.data)
                embedded = True
            except _JSON_ERRORS:
                pass
        if not embedded:
            obj["data_base64"] = base64.b64encode(event.data).decode("ascii")
    try:
        body = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    except RecursionError:  # data that decoded but is too deep to encode again: as base64
        obj.pop("data", None)
        obj["data_base64"] = base64.b64encode(event.data or b"").decode("ascii")
        body = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return [("Content-Type", STRUCTURED)], body


__all__ = [
    "BATCH", "STRUCTURED", "CloudEventError", "Mode", "detect_mode", "from_binary", "from_http",
    "from_structured", "has_binary_attributes", "is_json", "media_type", "percent_decode",
    "percent_encode", "to_binary", "to_structured",
]
