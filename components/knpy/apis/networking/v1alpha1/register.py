"""Group, version, kinds and modes of networking.internal.knative.dev/v1alpha1."""

GROUP = "networking.internal.knative.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
SERVERLESSSERVICES = "serverlessservices"

# spec.mode: Serve routes to the pods, Proxy to the activator
MODE_SERVE = "Serve"
MODE_PROXY = "Proxy"
MODES = (MODE_SERVE, MODE_PROXY)
