"""The controller image: reconcilers for knpy's CRDs on the shared runtime (knpy.runtime.k8s).

Run: `python -m knpy.controller [--kubeconfig FILE] [--namespace knpy-system]`.
Eventing reconcilers live in `eventing/` (Broker, Trigger, and the data-plane contract);
Serving's join them as they land. See docs/controller.md.
"""
