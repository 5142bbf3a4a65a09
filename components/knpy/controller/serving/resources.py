"""Where Serving's kinds (and what its reconcilers create) live in the API, and the
spec-hash annotation that tells a child's drift from API-server defaulting."""

from knpy.apis.autoscaling.v1alpha1 import register as a
from knpy.apis.networking.v1alpha1 import register as n
from knpy.apis.serving.v1 import register as s
from knpy.apis.serving.v1beta1 import register as sb
from knpy.controller.sources.resources import DEPLOYMENTS
from knpy.runtime.k8s import Resource

__all__ = [
           "ALL_SERVING",
           "CLUSTERDOMAINCLAIMS",
           "CONFIGURATIONS",
           "DEPLOYMENTS",
           "DOMAINMAPPINGS",
           "DOMAIN_MAPPING_KINDS",
           "INGRESSES",
           "KSERVICES",
           "LAST_APPLIED",
           "PODAUTOSCALERS",
           "PODS",
           "REVISIONS",
           "ROUTES",
           "SERVERLESSSERVICES",
           "SPEC_HASH_ANNOTATION",
]

KSERVICES = Resource(s.GROUP, s.VERSION, s.SERVICES, "Service")
CONFIGURATIONS = Resource(s.GROUP, s.VERSION, s.CONFIGURATIONS, "Configuration")
REVISIONS = Resource(s.GROUP, s.VERSION, s.REVISIONS, "Revision")
ROUTES = Resource(s.GROUP, s.VERSION, s.ROUTES, "Route")
PODAUTOSCALERS = Resource(a.GROUP, a.VERSION, a.PODAUTOSCALERS, "PodAutoscaler")
SERVERLESSSERVICES = Resource(n.GROUP, n.VERSION, n.SERVERLESSSERVICES, "ServerlessService")
INGRESSES = Resource(n.GROUP, n.VERSION, n.INGRESSES, "Ingress")
PODS = Resource("", "v1", "pods", "Pod")
DOMAINMAPPINGS = Resource(s.GROUP, sb.VERSION, sb.DOMAINMAPPINGS, "DomainMapping")
CLUSTERDOMAINCLAIMS = Resource(n.GROUP, n.VERSION, n.CLUSTERDOMAINCLAIMS, "ClusterDomainClaim",
                               namespaced=False)

ALL_SERVING = (KSERVICES, CONFIGURATIONS, REVISIONS, ROUTES, PODAUTOSCALERS,
               SERVERLESSSERVICES, INGRESSES)
# optional on top: Helm never upgrades crds/, so a release installed before DomainMapping
# existed lacks these until they are applied by hand
DOMAIN_MAPPING_KINDS = (DOMAINMAPPINGS, CLUSTERDOMAINCLAIMS)

SPEC_HASH_ANNOTATION = "serving.knpy.dev/spec-hash"
# kubectl's record of the user's manifest: never copied onto children
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
