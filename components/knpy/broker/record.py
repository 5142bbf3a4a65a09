"""The stored record: one accepted event plus the request headers the broker passes on.

Layout: one line of compact JSON `{"a": attributes, "h": [[name, value], ...]}`, a newline,
then the event's data bytes untouched (`"n": 1` marks an event without data). JSON escapes
newlines, so the first b"\\n" always ends the head.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from types import MappingProxyType

from knpy.runtime.cloudevents import CloudEvent

_TTL = "knativebrokerttl"

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_loads = json.loads


def encode(event: CloudEvent, headers: Iterable[tuple[str, str]] = ()) -> bytes:
    head: dict[str, object] = {"a": dict(event.attributes)}
    hdrs = [[k, v] for k, v in headers]
    if hdrs:
        head["h"] = hdrs
    if event.data is None:
        head["n"] = 1
    return _dumps(head).encode("utf-8") + b"\n" + (event.data or b"")


def decode(blob: bytes) -> tuple[CloudEvent, list[tuple[str, str]]]:
    """Inverse of encode; the event was validated when it was accepted."""
    nl = blob.index(b"\n")
    head = _loads(blob[:nl])
    data = None if head.get("n") else blob[nl + 1:]
    headers = [(k, v) for k, v in head.get("h", ())]
    return CloudEvent(MappingProxyType(head["a"]), data), headers


def identity(event: CloudEvent) -> str:
    """The store's deduplication key of an admitted event: `source` + `id` (what identifies
    an event per the CloudEvents spec) plus the broker TTL, so a reply that reuses its
    request's source and id is a new hop, not a duplicate of the request. Hashed: ids and
    sources are arbitrary strings and the key travels in a header."""
    a = event.attributes
    raw = f"{a.get('source', '')}\0{a.get('id', '')}\0{a.get(_TTL, '')}"
    return hashlib.blake2b(raw.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
