"""Sources integration fixtures: the session's real kube-apiserver with the eventing and
sources CRDs (kube_sources, client: tests/support/apiserver.py), a fresh namespace per test,
the controller running in-process, and real HTTP sinks on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from knpy.controller.main import ControllerApp
from knpy.runtime.k8s import Client
from tests.support.apiserver import controller_app, make_namespace
from tests.support.cluster import KubeAPI
from tests.unit.sources.conftest import Sink, sink  # noqa: F401


@pytest.fixture
def namespace(kube_sources: KubeAPI) -> str:
    return make_namespace(kube_sources, "src")


@pytest.fixture
async def controller(kube_sources: KubeAPI, client: Client
                     ) -> AsyncIterator[tuple[ControllerApp, str]]:
    async with controller_app(kube_sources, client) as running:
        yield running


__all__ = ["Sink"]
