"""sources.knative.dev/v1: PingSource, SinkBinding, ApiServerSource, ContainerSource."""

from knpy.apis.sources.v1.apiserversource_defaults import set_apiserversource_defaults
from knpy.apis.sources.v1.apiserversource_types import ApiServerResource, ApiServerSource
from knpy.apis.sources.v1.apiserversource_validation import validate_apiserversource
from knpy.apis.sources.v1.containersource_defaults import set_containersource_defaults
from knpy.apis.sources.v1.containersource_types import ContainerSource
from knpy.apis.sources.v1.containersource_validation import validate_containersource
from knpy.apis.sources.v1.pingsource_defaults import set_pingsource_defaults
from knpy.apis.sources.v1.pingsource_types import PingSource
from knpy.apis.sources.v1.pingsource_validation import validate_pingsource
from knpy.apis.sources.v1.register import GROUP, VERSION
from knpy.apis.sources.v1.sinkbinding_defaults import set_sinkbinding_defaults
from knpy.apis.sources.v1.sinkbinding_types import SinkBinding, Subject
from knpy.apis.sources.v1.sinkbinding_validation import validate_sinkbinding

__all__ = [
    "GROUP", "VERSION", "ApiServerResource", "ApiServerSource", "ContainerSource",
    "PingSource", "SinkBinding", "Subject", "set_apiserversource_defaults",
    "set_containersource_defaults", "set_pingsource_defaults", "set_sinkbinding_defaults",
    "validate_apiserversource", "validate_containersource", "validate_pingsource",
    "validate_sinkbinding",
]
