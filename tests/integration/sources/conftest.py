"""Sources integration fixtures: the session's real kube-apiserver with the eventing and
sources CRDs, a fresh namespace per test, the controller running in-process, and real
HTTP sinks on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from knpy.controller.main import ControllerApp, Options
from knpy.runtime.k8s import Client, connect
from tests.integration.controller.kube import kube_crds, make_namespace  # noqa: F401
from tests.support.cluster import KubeAPI
from tests.support.procs import REPO
from tests.unit.sources.conftest import Sink, sink  # noqa: F401

SOURCES_CRDS = REPO / "charts" / "knpy" / "crds" / "sources.yaml"
PLURALS = ("pingsources", "sinkbindings", "apiserversources", "containersources")


@pytest.fixture(scope="session")
def kube_sources(kube_crds: KubeAPI) -> KubeAPI:  # noqa: F811
    kube_crds.kubectl("apply", "-f", str(SOURCES_CRDS))
    kube_crds.kubectl("wait", "--for=condition=Established", "--timeout=60s",
                      *[f"crd/{p}.sources.knative.dev" for p in PLURALS], timeout=70)
    return kube_crds


@pytest.fixture
def namespace(kube_sources: KubeAPI) -> str:
    return make_namespace(kube_sources, "src")


@pytest.fixture
async def client(kube_apiserver: KubeAPI) -> AsyncIterator[Client]:
    c = await connect(kube_apiserver.kubeconfig)
    try:
        yield c
    finally:
        await c.close()


@pytest.fixture
async def controller(kube_sources: KubeAPI, client: Client
                     ) -> AsyncIterator[tuple[ControllerApp, str]]:
    system = make_namespace(kube_sources, "knpy-system")
    app = ControllerApp(client, Options(namespace=system, leader_election=False,
                                        watch_timeout=30))
    task = asyncio.create_task(app.run())
    yield app, system
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


__all__ = ["Sink"]
