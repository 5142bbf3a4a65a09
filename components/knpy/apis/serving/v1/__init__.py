"""serving.knative.dev/v1: Service, Configuration, Revision, Route."""

from knpy.apis.serving.v1.configuration_defaults import set_configuration_defaults
from knpy.apis.serving.v1.configuration_lifecycle import (
    CONFIGURATION_CONDITIONS,
    ConfigurationStatus,
)
from knpy.apis.serving.v1.configuration_types import Configuration
from knpy.apis.serving.v1.configuration_validation import (
    validate_configuration,
    validate_configuration_update,
)
from knpy.apis.serving.v1.register import GROUP, VERSION
from knpy.apis.serving.v1.revision_defaults import set_revision_defaults
from knpy.apis.serving.v1.revision_lifecycle import REVISION_CONDITIONS, RevisionStatus
from knpy.apis.serving.v1.revision_types import Revision, RevisionSpec, RevisionTemplate
from knpy.apis.serving.v1.revision_validation import (
    validate_revision,
    validate_revision_spec,
    validate_revision_update,
)
from knpy.apis.serving.v1.route_defaults import set_route_defaults
from knpy.apis.serving.v1.route_lifecycle import ROUTE_CONDITIONS, RouteStatus
from knpy.apis.serving.v1.route_types import Route
from knpy.apis.serving.v1.route_validation import validate_route, validate_route_update
from knpy.apis.serving.v1.service_defaults import set_service_defaults, set_user_annotations
from knpy.apis.serving.v1.service_lifecycle import SERVICE_CONDITIONS, ServiceStatus
from knpy.apis.serving.v1.service_types import Service
from knpy.apis.serving.v1.service_validation import validate_service, validate_service_update

__all__ = [
    "CONFIGURATION_CONDITIONS", "GROUP", "REVISION_CONDITIONS", "ROUTE_CONDITIONS",
    "SERVICE_CONDITIONS", "VERSION", "Configuration", "ConfigurationStatus", "Revision",
    "RevisionSpec", "RevisionStatus", "RevisionTemplate", "Route", "RouteStatus", "Service",
    "ServiceStatus", "set_configuration_defaults", "set_revision_defaults",
    "set_route_defaults", "set_service_defaults", "set_user_annotations",
    "validate_configuration",
    "validate_configuration_update", "validate_revision", "validate_revision_spec",
    "validate_revision_update", "validate_route", "validate_route_update", "validate_service",
    "validate_service_update",
]
