"""Where the kinds these reconcilers read and write live in the API."""

from knpy.apis.eventing.v1.register import BROKERS as _B
from knpy.apis.eventing.v1.register import GROUP, VERSION
from knpy.apis.eventing.v1.register import TRIGGERS as _T
from knpy.runtime.k8s import Resource

BROKERS = Resource(GROUP, VERSION, _B, "Broker")
TRIGGERS = Resource(GROUP, VERSION, _T, "Trigger")
DEPLOYMENTS = Resource("apps", "v1", "deployments", "Deployment")
PODS = Resource("", "v1", "pods", "Pod")
