"""knpy: Knative Serving and Eventing, rebuilt in Python.

One sub-package per image (controller, webhook, activator, autoscaler, queue_proxy, broker,
domainmapping, ingress), plus `runtime`, the code the images share. Components never import
each other; see docs/architecture.md for the layering that `make lint` enforces.
"""

__version__ = "0.1.0"
