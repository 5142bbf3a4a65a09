"""Settings of the proxy core: timeouts and the Forwarded/X-Forwarded-* policy."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Per-request time limits in seconds; 0 disables one. Each expiry answers 504.

    total: from the request's start until the response starts (Knative timeoutSeconds).
    response_start: from the request's start to the first byte of the response head.
    idle: longest gap with no bytes moving in either direction.
    As in Knative's timeout handler, total and response_start only matter before the
    response starts (a streaming response that has begun may run on); idle applies
    throughout, and once a response has started an idle expiry closes the client
    connection, truncating the response. Knative's idle clock counts only bytes written to
    the client, so a slow upload with no response yet times out there; ours counts both
    directions.
    """

    total: float = 0.0
    response_start: float = 0.0
    idle: float = 0.0
    # The 504 body: Knative's queue-proxy writes exactly this, whichever limit expired.
    message: bytes = b"request timeout"

    @property
    def enabled(self) -> bool:
        return self.total > 0 or self.response_start > 0 or self.idle > 0

    @property
    def tick(self) -> float:
        """How often the sweeper checks: a tenth of the shortest limit, 20 ms..250 ms."""
        limits = [t for t in (self.total, self.response_start, self.idle) if t > 0]
        return min(0.25, max(0.02, min(limits) / 10)) if limits else 0.25


@dataclass(frozen=True, slots=True)
class ProxyOptions:
    timeouts: Timeouts = field(default_factory=Timeouts)
    # Append the peer address to X-Forwarded-For (what Go's httputil.ReverseProxy does).
    x_forwarded_for: bool = True
    # Set X-Forwarded-Proto to `scheme` when the client did not send one.
    x_forwarded_proto: bool = True
    # "extend": append `for=<peer>;proto=<scheme>` to a Forwarded header the client sent;
    # "always": also add one when absent; "off": pass it through untouched.
    forwarded: str = "extend"
    scheme: bytes = b"http"
    # Longest response head accepted from an upstream.
    max_head: int = 64 * 1024
    # Request body bytes held while a request waits (breaker queue, connect) before the
    # client socket stops being read.
    body_buffer: int = 256 * 1024
    # Idle keep-alive connections kept per upstream.
    max_idle_upstream: int = 1024
    # A started request head must be complete within this many seconds (Go's
    # ReadHeaderTimeout); 0 = no limit. Slow clients get 408 and a closed connection.
    header_timeout: float = 60.0
    # Close a client connection idle between requests for this long; 0 = keep it open.
    keepalive_timeout: float = 0.0
    # Socket send-buffer high-water mark for both sides (bytes); above it we stop reading
    # the other side.
    write_high_water: int = 256 * 1024

    def __post_init__(self) -> None:
        if self.forwarded not in ("extend", "always", "off"):
            raise ValueError(f"forwarded: want extend, always or off, got {self.forwarded!r}")
