"""Duration parsing: ISO-8601 (`PT0.2S`, as Knative's delivery spec uses) and Go-style
(`10s`, `1m30s`, as Knative's ConfigMaps use). Pure functions, seconds as float."""

from __future__ import annotations

import re

__all__ = ["parse_go_duration", "parse_iso8601_duration"]

# PnYnMnWnDTnHnMnS; fractions allowed on any component (ISO 8601 allows it on the smallest).
_ISO = re.compile(
    r"^P(?!$)(?:(?P<y>\d+(?:[.,]\d+)?)Y)?(?:(?P<mo>\d+(?:[.,]\d+)?)M)?(?:(?P<w>\d+(?:[.,]\d+)?)W)?"
    r"(?:(?P<d>\d+(?:[.,]\d+)?)D)?"
    r"(?:T(?=\d)(?:(?P<h>\d+(?:[.,]\d+)?)H)?(?:(?P<mi>\d+(?:[.,]\d+)?)M)?"
    r"(?:(?P<s>\d+(?:[.,]\d+)?)S)?)?$"
)
_ISO_UNITS = {"y": 365 * 86400, "mo": 30 * 86400, "w": 7 * 86400, "d": 86400,
              "h": 3600, "mi": 60, "s": 1}


def parse_iso8601_duration(text: str) -> float:
    """"PT0.2S" -> 0.2, "P1DT2H" -> 93600. Years/months use 365/30 days (as Go's
    rickb777/date period does when converting to a duration). Raises ValueError."""
    m = _ISO.match(text.strip().upper()) if isinstance(text, str) else None
    if not m or text.strip().upper().endswith("T"):
        raise ValueError(f"not an ISO-8601 duration: {text!r}")
    total = 0.0
    for unit, secs in _ISO_UNITS.items():
        v = m.group(unit)
        if v is not None:
            total += float(v.replace(",", ".")) * secs
    return total


_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_GO_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse_go_duration(text: str) -> float:
    """Go's time.ParseDuration: "300ms", "1m30s", "-2h"; a bare "0" is allowed."""
    s = text.strip()
    sign = 1.0
    if s[:1] in "+-" and s:
        sign = -1.0 if s[0] == "-" else 1.0
        s = s[1:]
    if s == "0":
        return 0.0
    if not s:
        raise ValueError(f"not a duration: {text!r}")
    pos, total = 0, 0.0
    while pos < len(s):
        m = _GO_PART.match(s, pos)
        if not m:
            raise ValueError(f"not a duration: {text!r} (want e.g. 10s, 1m30s, 250ms)")
        total += float(m.group(1)) * _GO_UNITS[m.group(2)]
        pos = m.end()
    return sign * total
