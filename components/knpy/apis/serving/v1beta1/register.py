"""Group, version and kinds of serving.knative.dev/v1beta1 (DomainMapping)."""

from knpy.apis.serving.v1.register import GROUP

VERSION = "v1beta1"
API_VERSION = f"{GROUP}/{VERSION}"
DOMAINMAPPINGS = "domainmappings"

# labels on the KIngress of a DomainMapping (Knative's serving.knative.dev/domainMapping*)
DOMAIN_MAPPING_UID_LABEL = f"{GROUP}/domainMappingUID"
DOMAIN_MAPPING_NAMESPACE_LABEL = f"{GROUP}/domainMappingNamespace"
