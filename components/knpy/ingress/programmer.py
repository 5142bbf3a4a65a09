"""KIngress -> routing table, and its status (a Reconciler on the one controller runtime).

Each Ingress of this gateway's class (its `networking.knative.dev/ingress.class`
annotation; none means ours) is compiled into the table, which is swapped in before the
status is written: Ready (NetworkConfigured + LoadBalancerReady, with the gateway's
Services as load balancers) and observedGeneration = the generation just programmed, so
Ready True means this gateway routes that generation now. Another class's Ingress is
dropped from the table and left alone.
"""

from __future__ import annotations

from knpy.apis.networking.v1alpha1 import Ingress
from knpy.apis.networking.v1alpha1.register import (
    GROUP,
    INGRESS_CLASS_ANNOTATION,
    INGRESSES,
    VERSION,
)
from knpy.ingress.table import Router
from knpy.runtime.k8s import Client, Lister, Reconciler, Recorder, Resource, SkipKey

__all__ = ["INGRESS_RESOURCE", "IngressProgrammer"]

INGRESS_RESOURCE = Resource(GROUP, VERSION, INGRESSES, "Ingress")


class IngressProgrammer(Reconciler[Ingress]):
    def __init__(self, client: Client, lister: Lister, recorder: Recorder, *,
                 router: Router, ingress_class: str, public: str, private: str) -> None:
        super().__init__(client, lister, INGRESS_RESOURCE, Ingress, recorder,
                         name="ingress")
        self.router = router
        self.ingress_class, self.public, self.private = ingress_class, public, private

    async def reconcile_kind(self, ing: Ingress) -> None:
        cls = ing.annotations.get(INGRESS_CLASS_ANNOTATION)
        if cls is not None and cls != self.ingress_class:
            self.router.remove(ing.key)
            raise SkipKey(f"ingress class {cls!r}")
        self.router.program(ing.key, ing.raw)
        ing.status.mark_network_configured()
        ing.status.mark_load_balancer_ready(self.public, self.private)

    async def finalize_kind(self, ing: Ingress) -> None:
        self.router.remove(ing.key)

    async def on_deleted(self, key: str) -> None:
        self.router.remove(key)
