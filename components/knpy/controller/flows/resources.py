"""Where the flows kinds live in the API."""

from knpy.apis.flows.v1.register import (
    GROUP,
    PARALLEL_KIND,
    PARALLELS,
    SEQUENCE_KIND,
    SEQUENCES,
    VERSION,
)
from knpy.runtime.k8s import Resource

SEQUENCE_RESOURCE = Resource(GROUP, VERSION, SEQUENCES, SEQUENCE_KIND)
PARALLEL_RESOURCE = Resource(GROUP, VERSION, PARALLELS, PARALLEL_KIND)
FLOWS = (SEQUENCE_RESOURCE, PARALLEL_RESOURCE)
