"""Windowed aggregation for the autoscaler: the compiled build, or its pure twin.

`TimedBuckets` (linear average) and `WeightedBuckets` (exponentially weighted) are Knative's
TimedFloat64Buckets and WeightedFloat64Buckets; see windowed_py.py for the semantics and
docs/hotpaths.md for how the builds are chosen. `COMPILED` says which one is in use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from knpy.runtime.hotpath._select import NO_EXTENSIONS

if TYPE_CHECKING or NO_EXTENSIONS:
    from knpy.runtime.hotpath.windowed_py import TimedBuckets, WeightedBuckets, decay_multiplier

    COMPILED = False
else:
    try:
        from knpy.runtime.hotpath.windowed_c import (
            TimedBuckets,
            WeightedBuckets,
            decay_multiplier,
        )

        COMPILED = True
    except ImportError:
        from knpy.runtime.hotpath.windowed_py import (
            TimedBuckets,
            WeightedBuckets,
            decay_multiplier,
        )

        COMPILED = False

__all__ = ["COMPILED", "TimedBuckets", "WeightedBuckets", "decay_multiplier"]
