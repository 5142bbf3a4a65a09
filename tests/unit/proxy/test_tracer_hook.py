"""The proxy core with a tracer at rate 0 (the cheap path ParentBased sampling takes):
the core notes the request's `traceparent` line as it parses the head, and the upstream
gets exactly one, unsampled, whatever the client sent."""

from __future__ import annotations

import json
import re

from knpy.runtime.observability.otelproxy import ExchangeTracer
from knpy.runtime.observability.tracing import TracingSettings
from tests.unit.proxy.conftest import Proxy
from tests.unit.proxy.test_proxy import get

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
UNSAMPLED = f"00-{TRACE}-{PARENT}-00"
W3C = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f][02468ace]")  # unsampled


async def upstream_traceparent(proxy: Proxy, headers: dict[str, str]) -> tuple[str, str]:
    proxy.server.tracer = ExchangeTracer(TracingSettings("stdout", "", 0.0, "t"), {})
    status, body, _ = await get(proxy.url + "/headers", headers=headers)
    assert status == 200
    seen = {k.lower(): v for k, v in json.loads(body).items()}
    (value,) = seen["traceparent"] if isinstance(seen["traceparent"], list) \
        else [seen["traceparent"]]
    m = W3C.fullmatch(value)
    assert m, value
    return m[1], m[2]


async def test_unsampled_parent_keeps_its_trace(proxy: Proxy) -> None:
    for name in ("traceparent", "TraceParent"):
        trace, parent = await upstream_traceparent(proxy, {name: UNSAMPLED})
        assert trace == TRACE and parent != PARENT


async def test_no_parent_gets_a_new_unsampled_trace(proxy: Proxy) -> None:
    trace, _ = await upstream_traceparent(proxy, {})
    assert trace != TRACE


async def test_a_traceparent_the_connection_header_drops_is_no_parent(proxy: Proxy) -> None:
    trace, _ = await upstream_traceparent(proxy, {"traceparent": UNSAMPLED,
                                                  "Connection": "traceparent"})
    assert trace != TRACE
