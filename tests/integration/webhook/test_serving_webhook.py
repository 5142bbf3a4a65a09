"""Serving through a real API server: the CRDs are accepted (structural schemas, short
names, printer columns), and the webhook's Serving handlers default a ksvc and reject a bad
one with field paths, via `kubectl`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from knpy.apis.serving.v1 import GROUP, VERSION, Revision
from knpy.apis.serving.v1.register import REVISIONS as REVISIONS_PLURAL
from knpy.runtime.k8s import Client, Resource
from tests.support.admission import running_webhook
from tests.support.cluster import KubeAPI
from tests.support.procs import REPO

pytestmark = pytest.mark.timeout(120)

REVISIONS = Resource(GROUP, VERSION, REVISIONS_PLURAL, "Revision")
CRDS = REPO / "charts" / "knpy" / "crds" / "serving.yaml"
KINDS = ("services.serving.knative.dev", "configurations.serving.knative.dev",
         "revisions.serving.knative.dev", "routes.serving.knative.dev",
         "podautoscalers.autoscaling.internal.knative.dev",
         "serverlessservices.networking.internal.knative.dev",
         "domainmappings.serving.knative.dev")


@pytest.fixture(scope="module")
def serving_crds(kube_apiserver: KubeAPI) -> KubeAPI:
    kube_apiserver.kubectl("apply", "-f", str(CRDS))
    kube_apiserver.kubectl("wait", "--for=condition=Established", "--timeout=60s",
                           *(f"crd/{k}" for k in KINDS), timeout=70)
    return kube_apiserver


async def test_ksvc_defaulted_and_rejected_through_kubectl(serving_crds: KubeAPI,
                                                           client: Client,
                                                           logdir: Path) -> None:
    """`python -m knpy.webhook`, the process the chart runs, admits Serving objects."""
    api = serving_crds
    async with running_webhook(api, client, logdir, group="serving.knative.dev",
                               resources=["services", "configurations", "revisions",
                                          "routes"], prefix="svc") as hooks:
        await _scenario(api, client, hooks.namespace)


async def _scenario(api: KubeAPI, client: Client, ns: str) -> None:
    async def kubectl(*args: str, **kw):
        # in a thread: kubectl blocks, and the client's calls share this loop
        return await asyncio.to_thread(api.kubectl, *args, **kw)

    good = {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
            "metadata": {"name": "helloworld-go", "namespace": ns},
            "spec": {"template": {
                "metadata": {"annotations": {"autoscaling.knative.dev/target": "10"}},
                "spec": {"containers": [{
                    "image": "dev.local/knpy/helloworld:dev",
                    "ports": [{"name": "http1", "containerPort": 8080}],
                    "env": [{"name": "TARGET", "value": "World"}]}]}}}}
    await kubectl("apply", "-f", "-", input=json.dumps(good))
    got = json.loads((await kubectl("get", "ksvc", "helloworld-go", "-n", ns, "-o",
                                     "json")).stdout)
    spec = got["spec"]
    assert spec["traffic"] == [{"latestRevision": True, "percent": 100}]
    tspec = spec["template"]["spec"]
    assert (tspec["timeoutSeconds"], tspec["containerConcurrency"]) == (300, 0)
    c = tspec["containers"][0]
    assert c["name"] == "user-container"
    assert c["readinessProbe"] == {"successThreshold": 1, "tcpSocket": {"port": 0}}
    assert c["env"] == [{"name": "TARGET", "value": "World"}]  # open pod spec kept
    ann = got["metadata"]["annotations"]
    assert ann["serving.knative.dev/creator"] == ann["serving.knative.dev/lastModifier"]
    assert ann["serving.knative.dev/creator"]  # the kubectl user's name
    # Knative's columns and short names
    out = (await kubectl("get", "ksvc,cfg,rev,rt", "-n", ns)).stdout
    for col in ("URL", "LATESTCREATED", "LATESTREADY", "READY", "REASON"):
        assert col in out, out

    # a Revision: status through the subresource, Knative's revision columns, and
    # its spec frozen
    rev = {"apiVersion": "serving.knative.dev/v1", "kind": "Revision",
           "metadata": {"name": "helloworld-go-00001", "namespace": ns, "labels": {
               "serving.knative.dev/configuration": "helloworld-go",
               "serving.knative.dev/configurationGeneration": "1"}},
           "spec": {"containers": [{"image": "dev.local/knpy/helloworld:dev"}]}}
    await kubectl("apply", "-f", "-", input=json.dumps(rev))
    stored = await client.get(REVISIONS, ns, "helloworld-go-00001")
    view = Revision(stored)
    view.init_conditions()
    view.status.mark_resources_available_true()
    view.status.mark_container_healthy_true()
    stored["status"]["actualReplicas"] = 1
    await client.update_status(REVISIONS, stored)
    out = (await kubectl("get", "rev", "-n", ns)).stdout
    header, row = out.splitlines()[:2]
    assert header.split()[:4] == ["NAME", "CONFIG", "NAME", "GENERATION"], out
    assert row.split()[:5] == ["helloworld-go-00001", "helloworld-go", "1", "True",
                               "1"], out
    p = await kubectl("patch", "rev", "helloworld-go-00001", "-n", ns, "--type=merge",
                      "-p", '{"spec":{"timeoutSeconds":10}}', check=False)
    assert p.returncode != 0 and "Immutable fields changed (-old +new): spec" in p.stderr, \
        p.stderr

    bad = json.loads(json.dumps(good))
    bad["metadata"]["name"] = "bad"
    bad["spec"]["template"]["spec"]["containerConcurrency"] = 1001
    bad["spec"]["traffic"] = [{"latestRevision": True, "percent": 90, "tag": "Bad_Tag"}]
    bad["spec"]["template"]["spec"]["serviceAccountName"] = "foo@bar.baz"
    p = await kubectl("apply", "-f", "-", input=json.dumps(bad), check=False)
    assert p.returncode != 0
    for want in ("validation failed: ",
                 # Knative's conformance TestServiceAccountValidation looks for this
                 "foo@bar.baz: spec.template.spec.serviceAccountName\na lowercase RFC 1123 "
                 "subdomain must consist of lower case alphanumeric characters",
                 "expected 0 <= 1001 <= 1000: spec.template.spec.containerConcurrency",
                 "Traffic targets sum to 90, want 100: spec.traffic",
                 "invalid value: Bad_Tag: spec.traffic[0].tag"):
        assert want in p.stderr, p.stderr


async def test_domainmapping_defaulted_and_rejected_through_kubectl(
        serving_crds: KubeAPI, client: Client, logdir: Path) -> None:
    api = serving_crds
    async with running_webhook(api, client, logdir, group="serving.knative.dev",
                               resources=["domainmappings"], versions=["v1beta1"],
                               prefix="dm") as hooks:
        ns = hooks.namespace

        async def kubectl(*args: str, **kw):
            return await asyncio.to_thread(api.kubectl, *args, **kw)

        dm = {"apiVersion": "serving.knative.dev/v1beta1", "kind": "DomainMapping",
              "metadata": {"name": "hello.example.org", "namespace": ns},
              "spec": {"ref": {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
                               "name": "hello"}}}
        await kubectl("apply", "-f", "-", input=json.dumps(dm))
        got = json.loads((await kubectl("get", "dm", "hello.example.org", "-n", ns, "-o",
                                         "json")).stdout)
        assert got["spec"]["ref"]["namespace"] == ns
        assert got["metadata"]["annotations"]["serving.knative.dev/creator"]
        out = (await kubectl("get", "domainmappings", "-n", ns)).stdout
        assert out.split()[:4] == ["NAME", "URL", "READY", "REASON"], out
        bad = json.loads(json.dumps(dm))
        bad["metadata"]["name"] = "hello"  # a name the API server takes, not a domain
        bad["spec"]["ref"]["namespace"] = "elsewhere"
        p = await kubectl("apply", "-f", "-", input=json.dumps(bad), check=False)
        assert p.returncode != 0
        for want in ("invalid name 'hello': should be a domain with at least two segments "
                     "separated by dots: metadata.name",
                     "Ref namespace must be empty or equal to the domain mapping namespace "
                     f"'{ns}': spec.ref.namespace"):
            assert want in p.stderr, p.stderr
