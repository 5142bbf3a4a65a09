"""serving.knative.dev/v1beta1: DomainMapping (a custom domain for a ksvc, Route or any
Addressable), and the validation of the ClusterDomainClaims it takes."""

from knpy.apis.serving.v1beta1.domainmapping_lifecycle import (
    DOMAIN_MAPPING_CONDITIONS,
    DomainMappingStatus,
)
from knpy.apis.serving.v1beta1.domainmapping_types import DomainMapping
from knpy.apis.serving.v1beta1.domainmapping_validation import (
    set_domainmapping_defaults,
    validate_clusterdomainclaim,
    validate_domainmapping,
    validate_domainmapping_update,
)
from knpy.apis.serving.v1beta1.register import API_VERSION, DOMAINMAPPINGS, VERSION

__all__ = ["API_VERSION", "DOMAINMAPPINGS", "DOMAIN_MAPPING_CONDITIONS", "VERSION",
           "DomainMapping", "DomainMappingStatus", "set_domainmapping_defaults",
           "validate_clusterdomainclaim", "validate_domainmapping",
           "validate_domainmapping_update"]
