"""Group, version, kinds and well-known names of messaging.knative.dev/v1."""

GROUP = "messaging.knative.dev"
VERSION = "v1"
API_VERSION = f"{GROUP}/{VERSION}"
CHANNELS = "channels"
IN_MEMORY_CHANNELS = "inmemorychannels"
SUBSCRIPTIONS = "subscriptions"
IN_MEMORY_CHANNEL_KIND = "InMemoryChannel"

# Knative marks channels with the subscribable duck version they implement.
SUBSCRIBABLE_ANNOTATION = "messaging.knative.dev/subscribable"
SUBSCRIBABLE_VERSION = "v1"
