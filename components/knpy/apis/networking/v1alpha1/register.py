"""Group, version, kinds and modes of networking.internal.knative.dev/v1alpha1."""

GROUP = "networking.internal.knative.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
SERVERLESSSERVICES = "serverlessservices"

# spec.mode: Serve routes to the pods, Proxy to the activator
MODE_SERVE = "Serve"
MODE_PROXY = "Proxy"
MODES = (MODE_SERVE, MODE_PROXY)
INGRESSES = "ingresses"

# Ingress rules' visibility: reachable from outside the cluster, or only inside it
VISIBILITY_EXTERNAL = "ExternalIP"
VISIBILITY_CLUSTER_LOCAL = "ClusterLocal"
# The Ingress annotation naming which gateway programs it (config-network ingress-class)
INGRESS_CLASS_ANNOTATION = "networking.knative.dev/ingress.class"
# ClusterDomainClaim (cluster-scoped, named by the domain): which namespace may map it
CLUSTERDOMAINCLAIMS = "clusterdomainclaims"
