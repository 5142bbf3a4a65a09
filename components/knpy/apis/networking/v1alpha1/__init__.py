"""networking.internal.knative.dev/v1alpha1: ServerlessService (one per Revision)."""

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

__all__ = ["GROUP", "MODE_PROXY", "MODE_SERVE", "SKS_CONDITIONS", "VERSION",
           "ServerlessService", "ServerlessServiceStatus", "validate_serverlessservice",
           "validate_serverlessservice_update"]
