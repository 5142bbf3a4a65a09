"""Ingress (KIngress, networking.internal.knative.dev/v1alpha1), the gateway's input:

    spec:
      tls: [...]                          # accepted, not served yet
      httpOption: Enabled | Redirected
      rules:
      - hosts: [hello.ns.example.com]
        visibility: ExternalIP | ClusterLocal
        http:
          paths:
          - path: /                      # prefix; "" matches everything
            headers: {K: {exact: v}}      # match on request headers
            rewriteHost: other.host      # optional Host the upstream sees
            appendHeaders: {K: v}
            splits:
            - {serviceName, serviceNamespace, servicePort, percent, appendHeaders}
"""

from __future__ import annotations

from typing import Any

from knpy.apis.eventing.v1.meta import ObjectView
from knpy.apis.networking.v1alpha1.ingress_lifecycle import IngressStatus

__all__ = ["Ingress"]


class Ingress(ObjectView):
    @property
    def rules(self) -> list[dict[str, Any]]:
        r = self.spec_raw.get("rules")
        return [x for x in r if isinstance(x, dict)] if isinstance(r, list) else []

    @property
    def generation(self) -> int:
        return int(self.metadata.get("generation") or 0)

    @property
    def status(self) -> IngressStatus:
        return IngressStatus(self.status_raw)

    def init_conditions(self) -> None:
        self.status.conditions.initialize()
