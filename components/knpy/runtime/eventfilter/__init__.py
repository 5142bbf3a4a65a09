"""Trigger filters: every Knative filter dialect and the CESQL engine behind ``cesql``.

Used by the broker's dispatcher (``build(...).matches(attrs)`` per event) and by the
admission webhook (``validate``). Pure computation: no I/O, no third-party imports.
"""

from knpy.runtime.eventfilter.build import build, validate
from knpy.runtime.eventfilter.dialects import EventFilter
from knpy.runtime.eventfilter.errors import FilterError

__all__ = ["EventFilter", "FilterError", "build", "validate"]
