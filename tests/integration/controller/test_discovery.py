"""Discovery against the real (1.20) API server: versions, kinds, groups not served."""

from __future__ import annotations

import pytest

from knpy.runtime.k8s import Client, Discovery
from tests.support.cluster import KubeAPI

pytestmark = pytest.mark.timeout(60)


async def test_discovery_on_a_real_server(kube_crds: KubeAPI, client: Client) -> None:
    d = Discovery(client)
    major, minor = await d.server_version()
    assert major == 1 and minor >= 20
    svc = await d.resource_for("v1", "Service")
    assert (svc.group, svc.plural, svc.namespaced) == ("", "services", True)
    broker = await d.resource_for("eventing.knative.dev/v1", "Broker")
    assert broker is not None and broker.plural == "brokers"
    crd = await d.resource_for("apiextensions.k8s.io/v1", "CustomResourceDefinition")
    assert crd is not None and not crd.namespaced
    # (not Serving's kinds: other tests install those CRDs on this shared API server)
    assert await d.resource_for("nothing.knpy.dev/v1", "Widget") is None, \
        "a group that is not served is not found, and not cached as such"
    assert await d.serves("coordination.k8s.io/v1", "leases")
    # events.k8s.io/v1 arrived in 1.19; v1beta1 is gone in current releases
    assert await d.preferred("events.k8s.io", ["v1", "v1beta1"]) == "v1"
    assert await d.preferred("example.invalid", ["v1"]) is None
