"""Route placeholder until knpy's routing (Route -> KIngress, the ingress gateway) exists:
it only says why the Route is not Ready, so `kubectl get ksvc` reads the reason instead of
an unexplained Unknown. The routing issue replaces this module with the real reconciler."""

from __future__ import annotations

from knpy.apis.serving.v1 import Route
from knpy.apis.serving.v1.route_lifecycle import ALL_TRAFFIC_ASSIGNED, INGRESS_READY
from knpy.controller.serving.resources import ROUTES
from knpy.runtime.k8s import Client, Lister, Reconciler, Recorder

__all__ = ["NO_INGRESS_MESSAGE", "NO_INGRESS_REASON", "PendingRouteReconciler"]

NO_INGRESS_REASON = "IngressNotConfigured"
NO_INGRESS_MESSAGE = ("knpy has no Route reconciler or ingress yet: traffic is not routed "
                      "through the Route; each Revision is reachable through its own "
                      "Kubernetes Service <revision>.<namespace>")


class PendingRouteReconciler(Reconciler[Route]):
    def __init__(self, client: Client, lister: Lister, recorder: Recorder) -> None:
        super().__init__(client, lister, ROUTES, Route, recorder, name="route")

    async def reconcile_kind(self, rt: Route) -> None:
        st = rt.status
        st.conditions.mark_unknown(ALL_TRAFFIC_ASSIGNED, NO_INGRESS_REASON, NO_INGRESS_MESSAGE)
        st.conditions.mark_unknown(INGRESS_READY, NO_INGRESS_REASON, NO_INGRESS_MESSAGE)
        st.mark_tls_not_enabled()
