"""Controller integration fixtures: a real kube-apiserver + etcd (tests/support/cluster.py),
knpy's CRDs installed once, a fresh namespace per test, an async Client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from knpy.runtime.k8s import Client, connect
from tests.integration.controller.kube import kube_crds, make_namespace  # noqa: F401
from tests.support.cluster import KubeAPI


@pytest.fixture
def namespace(kube_apiserver: KubeAPI) -> str:
    return make_namespace(kube_apiserver, "t")


@pytest.fixture
async def client(kube_apiserver: KubeAPI) -> AsyncIterator[Client]:
    c = await connect(kube_apiserver.kubeconfig)
    try:
        yield c
    finally:
        await c.close()
