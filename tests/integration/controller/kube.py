"""Shared by the controller and webhook integration tests: knpy's CRDs installed once on
the session's real API server, throwaway namespaces, etcd's address."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from tests.support.cluster import KubeAPI
from tests.support.procs import REPO

CRDS = REPO / "charts" / "knpy" / "crds" / "eventing.yaml"


@pytest.fixture(scope="session")
def kube_crds(kube_apiserver: KubeAPI) -> KubeAPI:
    """The API server with knpy's eventing CRDs installed and Established."""
    kube_apiserver.kubectl("apply", "-f", str(CRDS))
    kube_apiserver.kubectl("wait", "--for=condition=Established", "--timeout=60s",
                           "crd/brokers.eventing.knative.dev",
                           "crd/triggers.eventing.knative.dev", timeout=70)
    return kube_apiserver


def make_namespace(api: KubeAPI, prefix: str, labels: dict[str, str] | None = None) -> str:
    """A new namespace. API-server-only runs no namespace controller, so namespaces are not
    deleted (deletion would hang in Terminating); they die with the session's API server."""
    ns = f"{prefix}-{uuid.uuid4().hex[:8]}"
    body = {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": ns, "labels": labels or {}}}
    api.kubectl("create", "-f", "-", input=json.dumps(body))
    return ns


def etcd_url(api: KubeAPI) -> str:
    ports = dict(line.split("=", 1) for line in
                 Path(api.cluster_dir, "ports").read_text().split())
    return f"http://127.0.0.1:{ports['ETCD_PORT']}"
