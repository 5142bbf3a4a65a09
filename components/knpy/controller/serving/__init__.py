"""Serving's reconcilers: Service -> Configuration + Route, Configuration -> Revisions,
Revision -> Deployment (user containers + queue-proxy) + PodAutoscaler + ServerlessService.
Wired by wiring.py, on only when the Serving CRDs are served (docs/controller.md)."""
