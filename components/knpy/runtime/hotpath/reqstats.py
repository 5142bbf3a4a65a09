"""Request statistics for the queue-proxy and activator: the compiled build, or its twin.

`RequestStats` is Knative's RequestStats (time-weighted concurrency and request counts,
with proxied variants); see reqstats_py.py for the semantics. `COMPILED` says which build
is in use.
"""

from __future__ import annotations

from knpy.runtime.hotpath._select import twin

_impl, COMPILED = twin("reqstats")

RequestStats = _impl.RequestStats

__all__ = ["COMPILED", "RequestStats"]
