"""Group, version, kinds, labels, annotations and reserved names of serving.knative.dev/v1."""

GROUP = "serving.knative.dev"
VERSION = "v1"
API_VERSION = f"{GROUP}/{VERSION}"

SERVICES = "services"
CONFIGURATIONS = "configurations"
REVISIONS = "revisions"
ROUTES = "routes"

# labels the reconcilers put on children (Knative's serving.knative.dev/* keys)
SERVICE_LABEL = f"{GROUP}/service"
SERVICE_UID_LABEL = f"{GROUP}/serviceUID"
CONFIGURATION_LABEL = f"{GROUP}/configuration"
CONFIGURATION_UID_LABEL = f"{GROUP}/configurationUID"
CONFIGURATION_GENERATION_LABEL = f"{GROUP}/configurationGeneration"
REVISION_LABEL = f"{GROUP}/revision"
REVISION_UID_LABEL = f"{GROUP}/revisionUID"
ROUTE_LABEL = f"{GROUP}/route"
VISIBILITY_LABEL = "networking.knative.dev/visibility"
VISIBILITY_CLUSTER_LOCAL = "cluster-local"

# annotations
CREATOR_ANNOTATION = f"{GROUP}/creator"
LAST_MODIFIER_ANNOTATION = f"{GROUP}/lastModifier"
ROUTES_ANNOTATION = f"{GROUP}/routes"
ROUTING_STATE_LABEL = f"{GROUP}/routingState"
ROUTING_STATE_MODIFIED_ANNOTATION = f"{GROUP}/routingStateModified"
NO_GC_ANNOTATION = f"{GROUP}/no-gc"
REVISION_LAST_PINNED_ANNOTATION = f"{GROUP}/lastPinned"
ROLLOUT_DURATION_ANNOTATION = f"{GROUP}/rollout-duration"
QUEUE_SIDECAR_RESOURCE_PERCENTAGE_ANNOTATION = f"{GROUP}/queue-sidecar-resource-percentage"
PROGRESS_DEADLINE_ANNOTATION = f"{GROUP}/progress-deadline"

# The queue-proxy's ports (Knative's pkg/apis/serving/k8s_validation.go reservedPorts):
# 8008 profiling, 8012 http1, 8013 h2c, 8022 admin, 8112 https, 9090 autoscaler metrics,
# 9091 user metrics.
RESERVED_PORTS = frozenset({8008, 8012, 8013, 8022, 8112, 9090, 9091})
# Env vars the system sets in the user container (reservedEnvVars).
RESERVED_ENV_VARS = frozenset({"PORT", "K_SERVICE", "K_CONFIGURATION", "K_REVISION"})
# Mount paths a user volume may not use (reservedPaths).
RESERVED_PATHS = frozenset({"/", "/dev", "/dev/log", "/tmp", "/var", "/var/log"})
# The only port names Knative accepts; they pick the protocol (h2c = HTTP/2 cleartext).
PORT_NAMES = frozenset({"", "http1", "h2c"})
DEFAULT_USER_PORT = 8080
MAX_CONTAINER_CONCURRENCY = 1000
