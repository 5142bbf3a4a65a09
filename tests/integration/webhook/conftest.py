"""Webhook integration fixtures (shared with the controller tests) and an API client."""

import pytest

from knpy.runtime.k8s import connect
from tests.integration.controller.kube import kube_crds  # noqa: F401
from tests.support.cluster import KubeAPI


@pytest.fixture
async def client(kube_apiserver: KubeAPI):
    c = await connect(kube_apiserver.kubeconfig)
    yield c
    await c.close()
