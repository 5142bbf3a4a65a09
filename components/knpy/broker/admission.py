"""What happens to every event entering a broker, from a producer or as a reply: the
`knativebrokerttl` hop limit and `knativearrivaltime`, plus which request headers travel on.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime

from knpy.runtime.cloudevents import CloudEvent, InvalidAttribute

TTL = "knativebrokerttl"
ARRIVAL = "knativearrivaltime"
DEFAULT_TTL = 255
_PASSED = frozenset({"x-request-id", "traceparent", "tracestate", "baggage"})


class TTLExhausted(InvalidAttribute):
    """knativebrokerttl <= 1 on arrival: the event has looped enough (reply loops end)."""


_second: list[object] = [-1, ""]  # (epoch second, its formatted prefix): strftime is slow


def arrival_time(now: datetime | None = None) -> str:
    """RFC 3339 UTC with microseconds, e.g. 2024-05-01T12:00:00.123456Z."""
    if now is not None:
        t = now.astimezone(UTC)
        return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond:06d}Z"
    ts = time.time()
    sec = int(ts)
    if _second[0] != sec:
        _second[0], _second[1] = sec, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
    return f"{_second[1]}.{int((ts - sec) * 1e6):06d}Z"


def ttl_of(event: CloudEvent) -> int | None:
    raw = event.attributes.get(TTL)
    if raw is None:
        return None
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise InvalidAttribute(TTL, f"not an integer: {raw!r}") from None


def admit(event: CloudEvent, now: datetime | None = None) -> CloudEvent:
    """Stamp arrival time and set (255) or decrement the TTL; raises TTLExhausted at <= 1."""
    ttl = ttl_of(event)
    if ttl is None:
        ttl = DEFAULT_TTL
    elif ttl <= 1:
        raise TTLExhausted(TTL, f"{ttl} <= 1: the event was dropped to end a loop")
    else:
        ttl -= 1
    return event.replace({TTL: str(ttl), ARRIVAL: arrival_time(now)})


def passthrough(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The request headers the broker carries to subscribers: x-request-id, the W3C trace
    context (traceparent, tracestate, baggage) and knative-* (nothing else; ce-* are
    re-emitted from the parsed event)."""
    out = []
    for k, v in headers:
        lk = k.lower()
        if lk in _PASSED or lk.startswith("knative-"):
            out.append((k, v))
    return out
