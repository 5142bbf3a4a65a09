"""Tests against a real kube-apiserver (started by `kube_apiserver`, tests/support/cluster.py):
CRDs installed once per session, throwaway namespaces, an async Client, and knpy's
controller running in-process. The one home of these for every integration test
(registered for tests/integration in its conftest)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from knpy.runtime.k8s import ApiError, Client, Resource, connect
from tests.support.cluster import KubeAPI, KubeError
from tests.support.crd_schema import CRDS

EVENTING_CRDS = CRDS / "eventing.yaml"
SOURCES_CRDS = CRDS / "sources.yaml"
MESSAGING_CRDS = CRDS / "messaging.yaml"
FLOWS_CRDS = CRDS / "flows.yaml"
MESSAGING_KINDS = ("channels", "inmemorychannels", "subscriptions")
EVENTING_KINDS = ("brokers", "triggers")
SOURCES_KINDS = ("pingsources", "sinkbindings", "apiserversources", "containersources")


def install_crds(api: KubeAPI, crds: Path | dict[str, Any], names: Iterable[str]) -> KubeAPI:
    """Install CRDs (a manifest file, or one CRD object created unless it exists) and wait
    until `names` (crd names, e.g. brokers.eventing.knative.dev) are Established."""
    if isinstance(crds, Path):
        api.kubectl("apply", "-f", str(crds))
    else:
        with contextlib.suppress(KubeError):  # AlreadyExists: another test made it
            api.kubectl("create", "-f", "-", input=json.dumps(crds))
    api.kubectl("wait", "--for=condition=Established", "--timeout=60s",
                *[f"crd/{n}" for n in names], timeout=70)
    return api


def make_namespace(api: KubeAPI, prefix: str, labels: dict[str, str] | None = None) -> str:
    """A new namespace. API-server-only runs no namespace controller, so namespaces are not
    deleted (deletion would hang in Terminating); they die with the session's API server."""
    ns = f"{prefix}-{uuid.uuid4().hex[:8]}"
    body = {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": ns, "labels": labels or {}}}
    api.kubectl("create", "-f", "-", input=json.dumps(body))
    return ns


@contextlib.asynccontextmanager
async def controller_app(api: KubeAPI, client: Client) -> AsyncIterator[tuple[Any, str]]:
    """knpy's controller in-process (no leader election) with its own system namespace:
    (ControllerApp, system namespace)."""
    # imported here: every integration test loads this module, few run the controller
    from knpy.controller.main import ControllerApp, Options

    system = make_namespace(api, "knpy-system")
    app = ControllerApp(client, Options(namespace=system, leader_election=False,
                                        watch_timeout=30))
    task = asyncio.create_task(app.run())
    try:
        yield app, system
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


# ---------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def kube_crds(kube_apiserver: KubeAPI) -> KubeAPI:
    """The API server with knpy's eventing CRDs installed and Established."""
    return install_crds(kube_apiserver, EVENTING_CRDS,
                        [f"{p}.eventing.knative.dev" for p in EVENTING_KINDS])


@pytest.fixture(scope="session")
def kube_sources(kube_crds: KubeAPI) -> KubeAPI:
    """kube_crds plus the sources.knative.dev CRDs."""
    return install_crds(kube_crds, SOURCES_CRDS,
                        [f"{p}.sources.knative.dev" for p in SOURCES_KINDS])


@pytest.fixture(scope="session")
def kube_messaging(kube_crds: KubeAPI) -> KubeAPI:
    """kube_crds plus the messaging.knative.dev CRDs (install before the controller
    starts: it turns channels on when they are served)."""
    return install_crds(kube_crds, MESSAGING_CRDS,
                        [f"{p}.messaging.knative.dev" for p in MESSAGING_KINDS])


@pytest.fixture(scope="session")
def kube_flows(kube_messaging: KubeAPI) -> KubeAPI:
    """kube_messaging plus the flows.knative.dev CRDs (Sequence, Parallel)."""
    return install_crds(kube_messaging, FLOWS_CRDS,
                        [f"{p}.flows.knative.dev" for p in ("sequences", "parallels")])


@pytest.fixture
async def client(kube_apiserver: KubeAPI) -> AsyncIterator[Client]:
    c = await connect(kube_apiserver.kubeconfig)
    try:
        yield c
    finally:
        await c.close()


async def get_or_none(client: Client, res: Resource, namespace: str,
                      name: str) -> dict[str, Any] | None:
    """The object, or None when there is none (yet, or any more)."""
    try:
        return await client.get(res, namespace, name)
    except ApiError as exc:
        if exc.not_found:
            return None
        raise


async def edit(client: Client, res: Resource, namespace: str, name: str,
               change: Callable[[dict[str, Any]], None], *, attempts: int = 5) -> dict[str, Any]:
    """Get, change and update an object, again from a fresh read on a 409: a controller
    writing the same object (its status, a finalizer, an injected env var) bumps the
    resourceVersion between a test's get and its update, as it would for a user's edit."""
    for attempt in range(attempts):
        obj = await client.get(res, namespace, name)
        change(obj)
        try:
            return await client.update(res, obj)
        except ApiError as e:
            if not e.conflict or attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")
