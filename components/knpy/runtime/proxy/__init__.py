"""The one HTTP/1.1 proxy core: asyncio Protocols, llhttp parsing, raw bytes passed through.

Shared by the queue-proxy, the activator and the ingress. A component supplies a `Handler`
whose `handle(ex)` answers locally (`ex.reply`), proxies (`ex.forward(pool)`) or waits
first (`ex.defer(coro)`). See docs/dataplane.md.
"""

from knpy.runtime.proxy.exchange import Exchange
from knpy.runtime.proxy.options import ProxyOptions, Timeouts
from knpy.runtime.proxy.server import Handler, Server, ServerConnection, Tracer
from knpy.runtime.proxy.upstream import UpstreamConnection, UpstreamPool

__all__ = ["Exchange", "Handler", "ProxyOptions", "Server", "ServerConnection", "Timeouts",
           "Tracer", "UpstreamConnection", "UpstreamPool"]
