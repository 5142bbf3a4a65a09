"""ContainerSource defaults: the sink ref's namespace."""

from knpy.apis.sources.v1.pingsource_defaults import set_pingsource_defaults as _sink_ns

set_containersource_defaults = _sink_ns

__all__ = ["set_containersource_defaults"]
