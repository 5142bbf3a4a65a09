"""Windowed aggregation for the autoscaler: the compiled build, or its pure twin.

`TimedBuckets` (linear average) and `WeightedBuckets` (exponentially weighted) are Knative's
TimedFloat64Buckets and WeightedFloat64Buckets; see windowed_py.py for the semantics and
docs/hotpaths.md for how the builds are chosen. `COMPILED` says which one is in use.
"""

from __future__ import annotations

from knpy.runtime.hotpath._select import twin

_impl, COMPILED = twin("windowed")

TimedBuckets = _impl.TimedBuckets
WeightedBuckets = _impl.WeightedBuckets
decay_multiplier = _impl.decay_multiplier

__all__ = ["COMPILED", "TimedBuckets", "WeightedBuckets", "decay_multiplier"]
