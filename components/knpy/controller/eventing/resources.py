"""Where the kinds these reconcilers read and write live in the API."""

from knpy.apis.eventing.v1.register import BROKERS as _B
from knpy.apis.eventing.v1.register import GROUP, VERSION
from knpy.apis.eventing.v1.register import TRIGGERS as _T
from knpy.apis.messaging.v1.register import CHANNELS as _CH
from knpy.apis.messaging.v1.register import GROUP as _MG
from knpy.apis.messaging.v1.register import IN_MEMORY_CHANNELS as _IMC
from knpy.apis.messaging.v1.register import SUBSCRIPTIONS as _SUB
from knpy.apis.messaging.v1.register import VERSION as _MV
from knpy.runtime.k8s import Resource

BROKERS = Resource(GROUP, VERSION, _B, "Broker")
TRIGGERS = Resource(GROUP, VERSION, _T, "Trigger")
DEPLOYMENTS = Resource("apps", "v1", "deployments", "Deployment")
PODS = Resource("", "v1", "pods", "Pod")

# messaging.knative.dev/v1 (on when served)
CHANNELS = Resource(_MG, _MV, _CH, "Channel")
IN_MEMORY_CHANNELS = Resource(_MG, _MV, _IMC, "InMemoryChannel")
SUBSCRIPTIONS = Resource(_MG, _MV, _SUB, "Subscription")
MESSAGING = (CHANNELS, IN_MEMORY_CHANNELS, SUBSCRIPTIONS)
