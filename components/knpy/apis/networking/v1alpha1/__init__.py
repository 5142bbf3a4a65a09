"""networking.internal.knative.dev/v1alpha1: ServerlessService (one per Revision) and
Ingress (KIngress, one per Route)."""

from knpy.apis.networking.v1alpha1.ingress_lifecycle import INGRESS_CONDITIONS, IngressStatus
from knpy.apis.networking.v1alpha1.ingress_types import Ingress
from knpy.apis.networking.v1alpha1.register import GROUP, MODE_PROXY, MODE_SERVE, VERSION
from knpy.apis.networking.v1alpha1.serverlessservice_lifecycle import (
    SKS_CONDITIONS,
    ServerlessServiceStatus,
)
from knpy.apis.networking.v1alpha1.serverlessservice_types import ServerlessService
from knpy.apis.networking.v1alpha1.serverlessservice_validation import (
    validate_serverlessservice,
    validate_serverlessservice_update,
)

__all__ = ["GROUP", "INGRESS_CONDITIONS", "MODE_PROXY", "MODE_SERVE", "SKS_CONDITIONS",
           "VERSION", "Ingress", "IngressStatus", "ServerlessService",
           "ServerlessServiceStatus", "validate_serverlessservice",
           "validate_serverlessservice_update"]
