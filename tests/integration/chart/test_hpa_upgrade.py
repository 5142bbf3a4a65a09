"""With serving.ingress.hpa on, `helm upgrade` leaves the gateway's replica count to the HPA
(a real Kubernetes 1.20 API server, no node and no HPA controller: `kubectl scale` stands in
for it, writing /scale as the HPA controller does)."""

from __future__ import annotations

import json
import uuid

from hack.deploy import CHART, LOCAL_VALUES
from tests.support.cluster import KubeAPI

# No webhook and no CRDs (as test_deploy_manifest.py), and no istio-system Namespace: without
# a namespace controller here it would stay Terminating and block the next release.
BASE = (*LOCAL_VALUES, "--set", "webhook.enabled=false", "--skip-crds",
        "--set", "serving.ingress.istioGatewayService.enabled=false",
        "--set", "serving.ingress.replicas=3")
HPA = ("--set", "serving.ingress.hpa.enabled=true")


def gateway_replicas(c: KubeAPI, ns: str) -> int:
    d = json.loads(c.kubectl("get", "-n", ns, "deployment/knpy-ingress", "-o", "json").stdout)
    return int(d["spec"]["replicas"])


def test_an_upgrade_keeps_the_count_the_hpa_chose(kube_apiserver: KubeAPI) -> None:
    c = kube_apiserver
    ns = f"hpa-{uuid.uuid4().hex[:6]}"
    try:
        c.helm("upgrade", "--install", "knpy", str(CHART), "-n", ns, "--create-namespace",
               *BASE, timeout=180)
        assert gateway_replicas(c, ns) == 3
        # turning the HPA on drops spec.replicas from the manifest: the default (1) until the
        # HPA raises it to minReplicas (charts/knpy/README.md says so)
        c.helm("upgrade", "knpy", str(CHART), "-n", ns, *BASE, *HPA, timeout=180)
        assert gateway_replicas(c, ns) == 1
        c.kubectl("scale", "-n", ns, "deployment/knpy-ingress", "--replicas=5")
        c.helm("upgrade", "knpy", str(CHART), "-n", ns, *BASE, *HPA, "--set", "logLevel=DEBUG",
               timeout=180)
        assert gateway_replicas(c, ns) == 5
    finally:
        c.helm("uninstall", "knpy", "-n", ns, timeout=120, check=False)
        c.kubectl("delete", "namespace", ns, "--wait=false", check=False)
