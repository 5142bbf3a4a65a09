"""The frozen CloudEvent value and its validation (CloudEvents 1.0 core attributes)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import cast

from knpy.runtime.cloudevents.errors import InvalidAttribute

SPECVERSION = "1.0"
V03 = "0.3"  # accepted on input and converted to 1.0 (upgrade_v03), as the SDKs do
REQUIRED = ("specversion", "id", "source", "type")
# Attribute names: lower-case ASCII letters and digits (CloudEvents 1.0, "Attribute Naming").
_NAME = re.compile(r"^[a-z0-9]+$")
# Attributes whose value must be a non-empty string when present.
_STRING_ATTRS = ("id", "source", "type", "subject", "datacontenttype", "dataschema", "time")

AttrValue = str | int | bool


@dataclass(frozen=True, slots=True)
class CloudEvent:
    """Context attributes (lower-case names; extensions included) plus opaque `data` bytes.

    `data` is never decoded: the broker stores and forwards exactly what it received
    (binary mode) or the JSON text of the `data` member (structured mode).
    """

    attributes: Mapping[str, AttrValue]
    data: bytes | None = None

    @property
    def id(self) -> str:
        return cast(str, self.attributes["id"])

    @property
    def source(self) -> str:
        return cast(str, self.attributes["source"])

    @property
    def type(self) -> str:
        return cast(str, self.attributes["type"])

    @property
    def datacontenttype(self) -> str | None:
        v = self.attributes.get("datacontenttype")
        return v if isinstance(v, str) else None

    def get(self, name: str, default: AttrValue | None = None) -> AttrValue | None:
        return self.attributes.get(name, default)

    def replace(self, updates: Mapping[str, AttrValue] | None = None,
                remove: tuple[str, ...] = ()) -> CloudEvent:
        """A copy with attributes set and/or removed (same data); not re-validated."""
        attrs = {k: v for k, v in self.attributes.items() if k not in remove}
        if updates:
            attrs.update(updates)
        return CloudEvent(MappingProxyType(attrs), self.data)


def upgrade_v03(attrs: dict[str, AttrValue]) -> None:
    """CloudEvents 0.3 context attributes as 1.0 ones, in place (what the Go and Python
    SDKs do on conversion): `schemaurl` becomes `dataschema`. `datacontentencoding` has no
    1.0 counterpart; the structured decoder applies `base64` to `data` and drops it,
    otherwise it stays as an extension so no information is lost."""
    attrs["specversion"] = SPECVERSION
    schema = attrs.pop("schemaurl", None)
    if schema is not None:
        attrs["dataschema"] = schema


def make_event(attributes: Mapping[str, AttrValue], data: bytes | None = None) -> CloudEvent:
    """Validate attributes and build a CloudEvent; raises InvalidAttribute naming the field.
    A 0.3 event is converted to 1.0 first."""
    attrs = dict(attributes)
    spec = attrs.get("specversion")
    if spec == V03:
        upgrade_v03(attrs)
        spec = SPECVERSION
    if spec is None or spec == "":
        raise InvalidAttribute("specversion", "is required")
    if spec != SPECVERSION:
        raise InvalidAttribute("specversion", f"unsupported value {spec!r} (1.0 or 0.3)")
    for name in REQUIRED[1:]:
        value = attrs.get(name)
        if value is None or value == "":
            raise InvalidAttribute(name, "is required and must be non-empty")
    for name, value in attrs.items():
        if not _NAME.match(name):
            raise InvalidAttribute(name, "attribute names are lower-case letters and digits")
        if isinstance(value, int):  # bool is an int too
            if name in _STRING_ATTRS or name == "specversion":
                raise InvalidAttribute(name, "must be a string")
            continue
        if not isinstance(value, str):
            raise InvalidAttribute(name, f"unsupported value type {type(value).__name__}")
        if name in _STRING_ATTRS and value == "":
            raise InvalidAttribute(name, "must be non-empty when present")
    dct = attrs.get("datacontenttype")
    if isinstance(dct, str) and any(ord(c) < 0x20 or ord(c) == 0x7F for c in dct):
        raise InvalidAttribute("datacontenttype", "control characters are not allowed")
    time = attrs.get("time")
    if time is not None:
        try:
            datetime.fromisoformat(str(time).replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise InvalidAttribute("time", f"not an RFC 3339 timestamp: {time!r}") from None
    return CloudEvent(MappingProxyType(attrs), data)


def attr_to_str(value: AttrValue) -> str:
    """Canonical string form of an attribute value (CloudEvents type system)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)
