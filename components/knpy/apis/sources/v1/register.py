"""Group, version, kinds, event types and well-known names of sources.knative.dev/v1."""

GROUP = "sources.knative.dev"
VERSION = "v1"
API_VERSION = f"{GROUP}/{VERSION}"

PINGSOURCES = "pingsources"
SINKBINDINGS = "sinkbindings"
APISERVERSOURCES = "apiserversources"
CONTAINERSOURCES = "containersources"

# CloudEvent types (Knative's constants)
PING_EVENT_TYPE = "dev.knative.sources.ping"
APISERVER_ADD = "dev.knative.apiserver.resource.add"
APISERVER_UPDATE = "dev.knative.apiserver.resource.update"
APISERVER_DELETE = "dev.knative.apiserver.resource.delete"
APISERVER_REF_ADD = "dev.knative.apiserver.ref.add"
APISERVER_REF_UPDATE = "dev.knative.apiserver.ref.update"
APISERVER_REF_DELETE = "dev.knative.apiserver.ref.delete"

# SinkBinding: the env vars it injects and the finalizer that lets it undo them
K_SINK = "K_SINK"
K_CE_OVERRIDES = "K_CE_OVERRIDES"
SINKBINDING_FINALIZER = "sinkbindings.sources.knative.dev"

MODE_REFERENCE = "Reference"
MODE_RESOURCE = "Resource"


def ping_source_attribute(namespace: str, name: str) -> str:
    """The `source` of a PingSource's events (Knative's PingSourceSource)."""
    return f"/apis/v1/namespaces/{namespace}/pingsources/{name}"
