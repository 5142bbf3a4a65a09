"""flows.knative.dev/v1: Sequence and Parallel, built on channels and subscriptions."""

from knpy.apis.flows.v1.flow_defaults import set_parallel_defaults, set_sequence_defaults
from knpy.apis.flows.v1.flow_lifecycle import (
    CHANNELS_READY,
    FLOW_CONDITIONS,
    SUBSCRIPTIONS_READY,
    ParallelStatus,
    SequenceStatus,
)
from knpy.apis.flows.v1.flow_types import Branch, Parallel, Sequence, Step
from knpy.apis.flows.v1.flow_validation import validate_parallel, validate_sequence
from knpy.apis.flows.v1.register import (
    API_VERSION,
    GROUP,
    PARALLEL_KIND,
    PARALLELS,
    SEQUENCE_KIND,
    SEQUENCES,
    VERSION,
)

__all__ = [
    "API_VERSION", "CHANNELS_READY", "FLOW_CONDITIONS", "GROUP", "PARALLELS", "PARALLEL_KIND",
    "SEQUENCES", "SEQUENCE_KIND", "SUBSCRIPTIONS_READY", "VERSION", "Branch", "Parallel",
    "ParallelStatus", "Sequence", "SequenceStatus", "Step", "set_parallel_defaults",
    "set_sequence_defaults", "validate_parallel", "validate_sequence",
]
