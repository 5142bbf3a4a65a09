"""Group, version and kinds of autoscaling.internal.knative.dev/v1alpha1."""

GROUP = "autoscaling.internal.knative.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
PODAUTOSCALERS = "podautoscalers"
METRICS = "metrics"

# spec.reachability
REACHABLE = "Reachable"
UNREACHABLE = "Unreachable"
REACHABILITY_UNKNOWN = ""
REACHABILITIES = (REACHABLE, UNREACHABLE, REACHABILITY_UNKNOWN)
