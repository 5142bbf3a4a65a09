"""HTTP/1.1 wire helpers for the proxy core: header classes, head rewriting, local responses.

Everything here works on raw bytes. The proxy passes header bytes through as they arrived
and only touches the few headers a proxy must (hop-by-hop ones and X-Forwarded-For/Forwarded).
"""

from __future__ import annotations

import re
from http import HTTPStatus

# What the request-side header callback does with each header it sees (lower-cased name).
H_CONNECTION = 1  # hop-by-hop; its tokens may name more hop-by-hop headers
H_UPGRADE = 2  # hop-by-hop unless the request upgrades
H_TRANSFER_ENCODING = 3  # hop-by-hop; we re-frame chunked bodies ourselves
H_HOP = 4  # other hop-by-hop headers: dropped
H_PROBE = 5  # K-Network-Probe
H_HASH = 6  # K-Network-Hash
H_USER_AGENT = 7
H_PROXY_REQUEST = 8  # K-Proxy-Request
H_XFF = 9  # X-Forwarded-For: merged with the peer address
H_FORWARDED = 10  # Forwarded (RFC 7239): extended with the peer's element
H_XFP = 11  # X-Forwarded-Proto: kept; we add one only when absent
H_ORIGINAL_HOST = 12  # K-Original-Host: remembered and dropped; a handler may restore it
H_KUBELET_PROBE = 13  # K-Kubelet-Probe: marks a kubelet probe (like a kube-probe/ agent)
H_HOST = 14  # Host: kept; HTTP/1.1 requires exactly one (RFC 9112 3.2)
H_TRACEPARENT = 15  # traceparent (W3C): kept; its line noted for the tracer

REQUEST_HEADER_KINDS: dict[bytes, int] = {
    b"connection": H_CONNECTION,
    b"upgrade": H_UPGRADE,
    b"transfer-encoding": H_TRANSFER_ENCODING,
    b"keep-alive": H_HOP,
    b"proxy-connection": H_HOP,
    b"proxy-authorization": H_HOP,
    b"proxy-authenticate": H_HOP,
    b"te": H_HOP,
    b"trailer": H_HOP,
    b"k-network-probe": H_PROBE,
    b"k-network-hash": H_HASH,
    b"user-agent": H_USER_AGENT,
    b"k-proxy-request": H_PROXY_REQUEST,
    b"x-forwarded-for": H_XFF,
    b"forwarded": H_FORWARDED,
    b"x-forwarded-proto": H_XFP,
    b"k-original-host": H_ORIGINAL_HOST,
    b"k-kubelet-probe": H_KUBELET_PROBE,
    b"host": H_HOST,
    b"traceparent": H_TRACEPARENT,
}

# Methods a client may safely send twice (Go's transport retries only these on a reused
# connection that the upstream closed, unless the request carries an Idempotency-Key).
IDEMPOTENT_METHODS = frozenset({b"GET", b"HEAD", b"OPTIONS", b"TRACE"})

# Connection tokens that are options, not header names.
_CONNECTION_OPTIONS = frozenset({b"keep-alive", b"close", b"upgrade"})

# Response heads pass through as raw bytes; one regex pass removes the hop-by-hop lines.
# Transfer-Encoding stays: the body bytes are relayed as they are, still chunked.
_RESPONSE_HOP_RE = re.compile(
    rb"\r\n(?:connection|keep-alive|proxy-connection|proxy-authenticate|proxy-authorization"
    rb"|te|trailer|upgrade)[ \t]*:[^\r\n]*",
    re.IGNORECASE,
)
# A Connection header whose value is something other than one plain option: it may name
# further hop-by-hop headers (rare; takes the slow path).
_UNUSUAL_CONNECTION_RE = re.compile(
    rb"\r\nconnection[ \t]*:(?![ \t]*(?:keep-alive|close|upgrade)[ \t]*\r\n)", re.IGNORECASE)
_RESPONSE_CONNECTION_RE = re.compile(rb"\r\nconnection[ \t]*:([^\r\n]*)", re.IGNORECASE)


def connection_tokens(value: bytes) -> list[bytes]:
    """The lower-cased tokens of a Connection header value."""
    return [t.strip().lower() for t in value.split(b",") if t.strip()]


def extra_hop_names(connection_value: bytes) -> frozenset[bytes]:
    """Header names a Connection header declares hop-by-hop (RFC 9110 7.6.1)."""
    return frozenset(t for t in connection_tokens(connection_value) if t not in _CONNECTION_OPTIONS)


def drop_named(lines: list[bytes], names: frozenset[bytes]) -> list[bytes]:
    """Remove raw `Name: value\\r\\n` lines whose lower-cased name is in `names`."""
    return [ln for ln in lines if ln.split(b":", 1)[0].strip().lower() not in names]


def rewrite_response_head(head: bytes, close: bool) -> bytes:
    """Strip hop-by-hop headers from a raw response head; add `Connection: close` if asked.

    `head` runs from the status line through the blank line. Most responses carry only
    `Connection: keep-alive`, so the common case is a single regex substitution.
    """
    out, n = _RESPONSE_HOP_RE.subn(b"", head)
    extra: frozenset[bytes] = frozenset()
    if n and _UNUSUAL_CONNECTION_RE.search(head):
        for m in _RESPONSE_CONNECTION_RE.finditer(head):
            extra |= extra_hop_names(m.group(1))
    if extra:
        first, _, rest = out.partition(b"\r\n")
        lines = [ln + b"\r\n" for ln in rest[:-4].split(b"\r\n")] if rest[:-4] else []
        out = first + b"\r\n" + b"".join(drop_named(lines, extra)) + b"\r\n"
    if close:
        out = out[:-2] + b"Connection: close\r\n\r\n"
    return out


def has_response_hop(head: bytes) -> bool:
    """True when the raw response head has a hop-by-hop header to strip."""
    return _RESPONSE_HOP_RE.search(head) is not None


_REASONS = {s.value: s.phrase.encode() for s in HTTPStatus}


def status_line(status: int) -> bytes:
    return b"HTTP/1.1 %d %s\r\n" % (status, _REASONS.get(status, b"Unknown"))


def response(status: int, body: bytes = b"", *, content_type: bytes = b"text/plain; charset=utf-8",
             headers: bytes = b"", close: bool = False) -> bytes:
    """A complete HTTP/1.1 response. `headers` holds extra raw `Name: value\\r\\n` lines."""
    return b"%sContent-Type: %s\r\nContent-Length: %d\r\n%s%s\r\n%s" % (
        status_line(status), content_type, len(body), headers,
        b"Connection: close\r\n" if close else b"", body,
    )


def with_close(raw: bytes) -> bytes:
    """A complete raw response with `Connection: close` in its head (added if missing)."""
    end = raw.find(b"\r\n\r\n")
    head = raw[:end]
    if b"\r\nConnection: close" in head:
        return raw
    return head + b"\r\nConnection: close" + raw[end:]


def error_response(status: int, message: str, *, close: bool = False) -> bytes:
    """A plain-text error response the way Go's http.Error writes it (message + newline)."""
    return response(status, message.encode() + b"\n",
                    headers=b"X-Content-Type-Options: nosniff\r\n", close=close)
