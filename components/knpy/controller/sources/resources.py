"""Where the source kinds (and what they create) live in the API."""

from knpy.apis.sources.v1 import register as r
from knpy.runtime.k8s import Resource

PINGSOURCES = Resource(r.GROUP, r.VERSION, r.PINGSOURCES, "PingSource")
SINKBINDINGS = Resource(r.GROUP, r.VERSION, r.SINKBINDINGS, "SinkBinding")
APISERVERSOURCES = Resource(r.GROUP, r.VERSION, r.APISERVERSOURCES, "ApiServerSource")
CONTAINERSOURCES = Resource(r.GROUP, r.VERSION, r.CONTAINERSOURCES, "ContainerSource")
DEPLOYMENTS = Resource("apps", "v1", "deployments", "Deployment")
NAMESPACES = Resource("", "v1", "namespaces", "Namespace", namespaced=False)
SUBJECT_ACCESS_REVIEWS = Resource("authorization.k8s.io", "v1", "subjectaccessreviews",
                                  "SubjectAccessReview", namespaced=False)

ALL_SOURCES = (PINGSOURCES, SINKBINDINGS, APISERVERSOURCES, CONTAINERSOURCES)
