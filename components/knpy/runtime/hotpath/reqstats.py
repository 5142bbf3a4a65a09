"""Request statistics for the queue-proxy and activator: the compiled build, or its twin.

`RequestStats` is Knative's RequestStats (time-weighted concurrency and request counts,
with proxied variants); see reqstats_py.py for the semantics. `COMPILED` says which build
is in use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from knpy.runtime.hotpath._select import NO_EXTENSIONS

if TYPE_CHECKING or NO_EXTENSIONS:
    from knpy.runtime.hotpath.reqstats_py import RequestStats

    COMPILED = False
else:
    try:
        from knpy.runtime.hotpath.reqstats_c import RequestStats

        COMPILED = True
    except ImportError:
        from knpy.runtime.hotpath.reqstats_py import RequestStats

        COMPILED = False

__all__ = ["COMPILED", "RequestStats"]
