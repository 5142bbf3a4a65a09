"""eventing.knative.dev/v1: Broker and Trigger."""

from knpy.apis.eventing.v1.broker_defaults import set_broker_defaults
from knpy.apis.eventing.v1.broker_lifecycle import BROKER_CONDITIONS
from knpy.apis.eventing.v1.broker_types import Broker
from knpy.apis.eventing.v1.broker_validation import validate_broker, validate_broker_update
from knpy.apis.eventing.v1.register import (
    BROKER_CLASS_ANNOTATION,
    BROKER_LABEL,
    DEPENDENCY_ANNOTATION,
    GROUP,
    VERSION,
)
from knpy.apis.eventing.v1.trigger_defaults import set_trigger_defaults
from knpy.apis.eventing.v1.trigger_lifecycle import TRIGGER_CONDITIONS
from knpy.apis.eventing.v1.trigger_types import Trigger
from knpy.apis.eventing.v1.trigger_validation import validate_trigger, validate_trigger_update

__all__ = [
    "BROKER_CLASS_ANNOTATION", "BROKER_CONDITIONS", "BROKER_LABEL", "DEPENDENCY_ANNOTATION",
    "GROUP", "TRIGGER_CONDITIONS", "VERSION", "Broker", "Trigger", "set_broker_defaults",
    "set_trigger_defaults", "validate_broker", "validate_broker_update", "validate_trigger",
    "validate_trigger_update",
]
