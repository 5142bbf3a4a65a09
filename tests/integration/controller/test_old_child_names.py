"""A cluster upgraded from a knpy that named long parents' children another way (sha256 cut,
before kmeta.ChildName): the children it left are there, controlled by their parents, when
the controller starts. Against a real kube-apiserver (no kubelet, no garbage collector):
the controller creates each child under its new name and deletes the old one, and a
Sequence keeps every channel it wants."""

from __future__ import annotations

import hashlib

import pytest

from knpy.apis.autoscaling.config import AutoscalerConfig
from knpy.apis.serving.v1 import Revision
from knpy.controller.eventing.resources import IN_MEMORY_CHANNELS, SUBSCRIPTIONS
from knpy.controller.flows.resources import SEQUENCE_RESOURCE
from knpy.controller.serving.resources import DEPLOYMENTS, REVISIONS, SERVERLESSSERVICES
from knpy.controller.serving.revision_children import make_sks
from knpy.runtime.k8s import CONFIGMAPS, SERVICES, Client
from knpy.runtime.k8s.naming import child_name
from knpy.runtime.k8s.ownerrefs import owner_reference
from knpy.runtime.k8s.resources import Resource
from tests.integration.controller.test_serving import QP, SERVING_KINDS
from tests.support.apiserver import CRDS, controller_app, get_or_none, install_crds
from tests.support.cluster import KubeAPI
from tests.support.poll import eventually

pytestmark = pytest.mark.timeout(120)

REV = "an-upgraded-revision-whose-name-is-long-enough-to-be-hashed-1"  # 61 characters
SEQ = "an-upgraded-sequence-with-a-name-of-fifty-characters"
IMC = {"apiVersion": "messaging.knative.dev/v1", "kind": "InMemoryChannel"}


def _sha8(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def old_child_name(full: str, limit: int = 63) -> str:
    """knpy's child_name before kmeta.ChildName: the whole name cut, a sha256 of it after."""
    return full if len(full) <= limit else f"{full[:limit - 9]}-{_sha8(full)}"


def old_suffixed_name(parent: str, suffix: str, limit: int = 63) -> str:
    """knpy's suffixed_name before kmeta.ChildName: the parent cut, its sha256, the suffix."""
    full = parent + suffix
    return full if len(full) <= limit else \
        f"{parent[:limit - len(suffix) - 9]}-{_sha8(parent)}{suffix}"


async def test_revision_children_left_under_old_names_are_deleted(
        kube_crds: KubeAPI, client: Client, namespace: str) -> None:
    install_crds(kube_crds, CRDS / "serving.yaml", SERVING_KINDS)
    ns = namespace
    rev = await client.create(REVISIONS, {
        "apiVersion": "serving.knative.dev/v1", "kind": "Revision",
        "metadata": {"name": REV, "namespace": ns},
        "spec": {"containerConcurrency": 0, "timeoutSeconds": 300, "containers": [{
            "name": "user-container", "image": "dev.local/knpy/helloworld:dev",
            "ports": [{"name": "http1", "containerPort": 8080}]}]}})
    sks = await client.create(SERVERLESSSERVICES, make_sks(Revision(rev), AutoscalerConfig()))
    old_dep = old_child_name(REV + "-deployment")
    old_private = old_suffixed_name(REV, "-private")
    assert old_dep != child_name(REV, "-deployment")
    assert old_private != child_name(REV, "-private")
    labels = {"serving.knative.dev/revision": REV}
    await client.create(DEPLOYMENTS, {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": old_dep, "namespace": ns, "labels": labels,
                     "ownerReferences": [owner_reference(rev)]},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                     {"name": "user-container", "image": "dev.local/knpy/helloworld:dev"}]}}}})
    await client.create(SERVICES, {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": old_private, "namespace": ns,
                     "labels": {**labels,
                                "networking.internal.knative.dev/serviceType": "Private"},
                     "ownerReferences": [owner_reference(sks)]},
        "spec": {"selector": labels, "ports": [{"name": "http", "port": 80,
                                                "targetPort": 8012}]}})

    async with controller_app(kube_crds, client) as (_app, system):
        await client.create(CONFIGMAPS, {"apiVersion": "v1", "kind": "ConfigMap",
                                         "metadata": {"name": "config-deployment",
                                                      "namespace": system},
                                         "data": {"queue-sidecar-image": QP}})

        async def only_new(res: Resource, old: str, new: str) -> bool:
            return await get_or_none(client, res, ns, old) is None and \
                await get_or_none(client, res, ns, new) is not None
        await eventually(lambda: only_new(DEPLOYMENTS, old_dep, child_name(REV, "-deployment")),
                         45, "the new Deployment, the old one deleted", every=0.2)
        await eventually(lambda: only_new(SERVICES, old_private, child_name(REV, "-private")),
                         45, "the new private Service, the old one deleted", every=0.2)
    # the public Service shares the private one's kind and owner: not in its slot, kept
    assert await get_or_none(client, SERVICES, ns, REV) is not None


async def test_sequence_keeps_its_channels_and_drops_the_old_named_one(
        kube_flows: KubeAPI, client: Client, namespace: str) -> None:
    ns = namespace
    seq = await client.create(SEQUENCE_RESOURCE, {
        "apiVersion": "flows.knative.dev/v1", "kind": "Sequence",
        "metadata": {"name": SEQ, "namespace": ns},
        "spec": {"channelTemplate": IMC,
                 "steps": [{"uri": f"http://127.0.0.1:9/{i}"} for i in range(3)]}})
    old = old_suffixed_name(SEQ, "-kn-sequence-0")
    want = [child_name(SEQ, f"-kn-sequence-{i}") for i in range(3)]
    assert old not in want
    await client.create(IN_MEMORY_CHANNELS, {
        **IMC, "metadata": {"name": old, "namespace": ns,
                            "ownerReferences": [owner_reference(seq)]}, "spec": {}})

    async def controlled(res: Resource) -> list[str]:
        return sorted(o["metadata"]["name"] for o in (await client.list(res, ns))["items"]
                      if not o["metadata"].get("deletionTimestamp")
                      and any(r.get("controller") and r["uid"] == seq["metadata"]["uid"]
                              for r in o["metadata"].get("ownerReferences") or []))

    async with controller_app(kube_flows, client):
        async def settled() -> bool:
            return await controlled(IN_MEMORY_CHANNELS) == sorted(want) and \
                await controlled(SUBSCRIPTIONS) == sorted(want)
        await eventually(settled, 45, "the 3 channels and Subscriptions, the old one gone",
                         every=0.2)
