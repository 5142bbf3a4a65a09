"""Controller integration fixtures: the session's real kube-apiserver (kube_crds, client:
tests/support/apiserver.py) and a fresh namespace per test."""

from __future__ import annotations

import pytest

from tests.support.apiserver import make_namespace
from tests.support.cluster import KubeAPI


@pytest.fixture
def namespace(kube_apiserver: KubeAPI) -> str:
    return make_namespace(kube_apiserver, "t")
