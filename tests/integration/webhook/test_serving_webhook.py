"""Serving through a real API server: the CRDs are accepted (structural schemas, short
names, printer columns), and the webhook's Serving handlers default a ksvc and reject a bad
one with field paths, via `kubectl`."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid

import pytest
from aiohttp import web

from knpy.apis.serving.v1 import GROUP, VERSION, Revision
from knpy.apis.serving.v1.register import REVISIONS as REVISIONS_PLURAL
from knpy.runtime.k8s import MUTATING_WEBHOOKS, VALIDATING_WEBHOOKS, Client, Resource
from knpy.webhook.admission import eventing_handlers, merge_handlers
from knpy.webhook.certs import generate
from knpy.webhook.server import make_app, ssl_context
from knpy.webhook.serving import serving_handlers
from knpy.webhook.sources import sources_handlers
from tests.integration.controller.kube import make_namespace
from tests.integration.webhook.test_webhook import hook_config
from tests.support.cluster import KubeAPI
from tests.support.procs import REPO, free_port

pytestmark = pytest.mark.timeout(120)

REVISIONS = Resource(GROUP, VERSION, REVISIONS_PLURAL, "Revision")
CRDS = REPO / "charts" / "knpy" / "crds" / "serving.yaml"
KINDS = ("services.serving.knative.dev", "configurations.serving.knative.dev",
         "revisions.serving.knative.dev", "routes.serving.knative.dev",
         "podautoscalers.autoscaling.internal.knative.dev",
         "serverlessservices.networking.internal.knative.dev")


@pytest.fixture(scope="module")
def serving_crds(kube_apiserver: KubeAPI) -> KubeAPI:
    kube_apiserver.kubectl("apply", "-f", str(CRDS))
    kube_apiserver.kubectl("wait", "--for=condition=Established", "--timeout=60s",
                           *(f"crd/{k}" for k in KINDS), timeout=70)
    return kube_apiserver


def serving_hook(kind: str, name: str, path: str, port: int, ca: bytes, label: str) -> dict:
    cfg = hook_config(kind, name, path, port, label)
    h = cfg["webhooks"][0]
    h["clientConfig"]["caBundle"] = base64.b64encode(ca).decode()
    h["rules"] = [{"apiGroups": ["serving.knative.dev"], "apiVersions": ["v1"],
                   "operations": ["CREATE", "UPDATE"],
                   "resources": ["services", "configurations", "revisions", "routes"],
                   "scope": "Namespaced"}]
    return cfg


async def test_ksvc_defaulted_and_rejected_through_kubectl(serving_crds: KubeAPI,
                                                           client: Client) -> None:
    api = serving_crds
    label = uuid.uuid4().hex[:8]
    ns = make_namespace(api, "svc", {"knpy-webhook-test": label})
    port = free_port()
    bundle = generate(["127.0.0.1"])
    handlers = merge_handlers(eventing_handlers(), sources_handlers(), serving_handlers())
    runner = web.AppRunner(make_app(lambda: handlers), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, ssl_context=ssl_context(bundle)).start()
    vname, mname = f"validation.{label}.knpy.dev", f"defaulting.{label}.knpy.dev"
    await client.create(VALIDATING_WEBHOOKS, serving_hook("ValidatingWebhookConfiguration", vname,
                                                  "/validation", port, bundle.ca_pem, label))
    await client.create(MUTATING_WEBHOOKS, serving_hook("MutatingWebhookConfiguration", mname,
                                                "/defaulting", port, bundle.ca_pem, label))

    async def kubectl(*args: str, **kw):
        # in a thread: the webhook answering kubectl's requests runs on this loop
        return await asyncio.to_thread(api.kubectl, *args, **kw)

    try:
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
        assert p.returncode != 0 and "spec: immutable field changed" in p.stderr, p.stderr

        bad = json.loads(json.dumps(good))
        bad["metadata"]["name"] = "bad"
        bad["spec"]["template"]["spec"]["containerConcurrency"] = 1001
        bad["spec"]["traffic"] = [{"latestRevision": True, "percent": 90, "tag": "Bad_Tag"}]
        p = await kubectl("apply", "-f", "-", input=json.dumps(bad), check=False)
        assert p.returncode != 0
        for want in ("spec.template.spec.containerConcurrency: must be between 0 and 1000",
                     "spec.traffic: Traffic targets sum to 90, want 100",
                     "spec.traffic[0].tag: invalid value: Bad_Tag"):
            assert want in p.stderr, p.stderr
    finally:
        for res, name in ((VALIDATING_WEBHOOKS, vname), (MUTATING_WEBHOOKS, mname)):
            await client.delete(res, None, name)
        await runner.cleanup()
