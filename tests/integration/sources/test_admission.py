"""The webhook process registered with a real API server for sources.knative.dev: bad
PingSources and SinkBindings are denied with field-pathed errors, defaults are applied."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from knpy.runtime.k8s import MUTATING_WEBHOOKS, VALIDATING_WEBHOOKS, Client
from tests.integration.controller.kube import make_namespace
from tests.support.cluster import KubeAPI
from tests.support.poll import eventually
from tests.support.procs import free_port, python_module, running

pytestmark = pytest.mark.timeout(120)

PLURALS = ["pingsources", "sinkbindings", "apiserversources", "containersources"]


def hook_config(kind: str, name: str, path: str, port: int, label: str) -> dict:
    hook = {"name": f"{path.strip('/')}.{name}",
            "clientConfig": {"url": f"https://127.0.0.1:{port}{path}"},
            "rules": [{"apiGroups": ["sources.knative.dev"], "apiVersions": ["v1"],
                       "operations": ["CREATE", "UPDATE"], "resources": PLURALS,
                       "scope": "Namespaced"}],
            "namespaceSelector": {"matchLabels": {"knpy-sources-webhook": label}},
            "sideEffects": "None", "admissionReviewVersions": ["v1"], "failurePolicy": "Fail",
            "timeoutSeconds": 10}
    if kind == "MutatingWebhookConfiguration":
        hook["reinvocationPolicy"] = "Never"
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind,
            "metadata": {"name": name}, "webhooks": [hook]}


async def test_sources_admission_end_to_end(kube_sources: KubeAPI, client: Client,
                                            logdir: Path) -> None:
    api = kube_sources
    label = uuid.uuid4().hex[:8]
    ns = make_namespace(api, "srcwh", {"knpy-sources-webhook": label})
    system = make_namespace(api, "knpy-system")
    port = free_port()
    vname, mname = f"validation.{label}.sources.knpy.dev", f"defaulting.{label}.sources.knpy.dev"
    await client.create(VALIDATING_WEBHOOKS, hook_config(
        "ValidatingWebhookConfiguration", vname, "/validation", port, label))
    await client.create(MUTATING_WEBHOOKS, hook_config(
        "MutatingWebhookConfiguration", mname, "/defaulting", port, label))
    args = python_module("knpy.webhook", "--kubeconfig", api.kubeconfig, "--namespace", system,
                         "--host", "127.0.0.1", "--port", str(port), "--san", "127.0.0.1",
                         "--validating-config", vname, "--mutating-config", mname,
                         "--resync", "1")

    def create(obj: dict):
        return api.kubectl("create", "-f", "-", input=json.dumps(obj), check=False)

    try:
        with running(args, port=port, log_path=logdir / "webhook.log"):
            async def ca_set() -> bool:
                cfgs = [await client.get(r, None, n) for r, n in (
                    (VALIDATING_WEBHOOKS, vname), (MUTATING_WEBHOOKS, mname))]
                return all(c["webhooks"][0]["clientConfig"].get("caBundle") for c in cfgs)
            await eventually(ca_set, 20, what="caBundle registered")

            p = create({"apiVersion": "sources.knative.dev/v1", "kind": "PingSource",
                        "metadata": {"name": "bad", "namespace": ns},
                        "spec": {"schedule": "61 * * *", "timezone": "Mars/Olympus",
                                 "data": "a", "dataBase64": "YQ==",
                                 "sink": {"uri": "relative"}}})
            assert p.returncode != 0
            for path in ("spec.schedule", "spec.timezone", "spec.data, spec.dataBase64",
                         "spec.sink.uri"):
                assert path in p.stderr, f"{path} missing from: {p.stderr}"

            p = create({"apiVersion": "sources.knative.dev/v1", "kind": "SinkBinding",
                        "metadata": {"name": "bad", "namespace": ns},
                        "spec": {"subject": {"apiVersion": "apps/v1", "kind": "Deployment",
                                             "name": "x",
                                             "selector": {"matchLabels": {"a": "b"}}},
                                 "sink": {"uri": "http://sink/"}}})
            assert p.returncode != 0
            assert "spec.subject.name, spec.subject.selector: expected exactly one, got both" \
                in p.stderr, p.stderr

            # defaults: mode, service account and the sink ref's namespace
            ok = create({"apiVersion": "sources.knative.dev/v1", "kind": "ApiServerSource",
                         "metadata": {"name": "ok", "namespace": ns},
                         "spec": {"resources": [{"apiVersion": "v1", "kind": "Event"}],
                                  "sink": {"ref": {"apiVersion": "v1", "kind": "Service",
                                                   "name": "display"}}}})
            assert ok.returncode == 0, ok.stderr
            got = json.loads(api.kubectl("get", "apiserversource", "ok", "-n", ns, "-o",
                                         "json").stdout)
            assert got["spec"]["mode"] == "Reference"
            assert got["spec"]["serviceAccountName"] == "default"
            assert got["spec"]["sink"]["ref"]["namespace"] == ns
    finally:
        for res, name in ((VALIDATING_WEBHOOKS, vname), (MUTATING_WEBHOOKS, mname)):
            await client.delete(res, None, name)
