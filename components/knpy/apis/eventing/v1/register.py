"""Group, version, kinds and well-known annotations of eventing.knative.dev/v1."""

GROUP = "eventing.knative.dev"
VERSION = "v1"
API_VERSION = f"{GROUP}/{VERSION}"
BROKERS = "brokers"
TRIGGERS = "triggers"

BROKER_CLASS_ANNOTATION = "eventing.knative.dev/broker.class"
DEFAULT_BROKER_CLASS = "MTChannelBasedBroker"  # Knative's default; knpy serves it
BROKER_LABEL = "eventing.knative.dev/broker"
DEPENDENCY_ANNOTATION = "knative.dev/dependency"
