"""The webhook process registered with a real API server: it manages its own certificate,
sets the caBundle, defaults Brokers and rejects a bad Trigger with field-pathed errors."""

from __future__ import annotations

import base64
import json
import uuid

import pytest

from knpy.runtime.k8s import MUTATING_WEBHOOKS, SECRETS, VALIDATING_WEBHOOKS, Client
from tests.integration.controller.kube import make_namespace
from tests.support.cluster import KubeAPI
from tests.support.procs import free_port, python_module, running

pytestmark = pytest.mark.timeout(120)


def hook_config(kind: str, name: str, path: str, port: int, label: str) -> dict:
    hook = {"name": f"{path.strip('/')}.{name}",
            "clientConfig": {"url": f"https://127.0.0.1:{port}{path}"},
            "rules": [{"apiGroups": ["eventing.knative.dev"], "apiVersions": ["v1"],
                       "operations": ["CREATE", "UPDATE"], "resources": ["brokers", "triggers"],
                       "scope": "Namespaced"}],
            # only this test's namespace: a stopped webhook must not block other tests
            "namespaceSelector": {"matchLabels": {"knpy-webhook-test": label}},
            "sideEffects": "None", "admissionReviewVersions": ["v1"], "failurePolicy": "Fail",
            "timeoutSeconds": 10}
    if kind == "MutatingWebhookConfiguration":
        hook["reinvocationPolicy"] = "Never"
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind,
            "metadata": {"name": name}, "webhooks": [hook]}


async def test_webhook_admission_end_to_end(kube_crds: KubeAPI, client: Client,
                                            logdir) -> None:
    api = kube_crds
    label = uuid.uuid4().hex[:8]
    ns = make_namespace(api, "wh", {"knpy-webhook-test": label})
    system = make_namespace(api, "knpy-system")
    port = free_port()
    vname, mname = f"validation.{label}.knpy.dev", f"defaulting.{label}.knpy.dev"
    await client.create(VALIDATING_WEBHOOKS, hook_config(
        "ValidatingWebhookConfiguration", vname, "/validation", port, label))
    await client.create(MUTATING_WEBHOOKS, hook_config(
        "MutatingWebhookConfiguration", mname, "/defaulting", port, label))
    args = python_module("knpy.webhook", "--kubeconfig", api.kubeconfig, "--namespace", system,
                         "--host", "127.0.0.1", "--port", str(port), "--san", "127.0.0.1",
                         "--validating-config", vname, "--mutating-config", mname,
                         "--resync", "1")
    try:
        with running(args, port=port, log_path=logdir / "webhook.log"):
            # it issued its own certificate into a Secret and registered its CA
            secret = await client.get(SECRETS, system, "knpy-webhook-certs")
            ca = base64.b64decode(secret["data"]["ca-cert.pem"])
            for res, name in ((VALIDATING_WEBHOOKS, vname), (MUTATING_WEBHOOKS, mname)):
                cfg = await _eventually_ca(client, res, name)
                assert base64.b64decode(cfg["webhooks"][0]["clientConfig"]["caBundle"]) == ca

            bad = {"apiVersion": "eventing.knative.dev/v1", "kind": "Trigger",
                   "metadata": {"name": "bad", "namespace": ns},
                   "spec": {"broker": "default",
                            "filter": {"attributes": {"Type": "x"}},
                            "filters": [{"exact": {"type": "a"}}, {"cesql": "type = "}],
                            "subscriber": {"uri": "http://sink/"},
                            "delivery": {"retry": -1, "backoffDelay": "2s"}}}
            p = api.kubectl("create", "-f", "-", input=json.dumps(bad), check=False)
            assert p.returncode != 0
            err = p.stderr
            assert f'admission webhook "validation.{vname}" denied the request' in err, err
            for path in ("spec.filter.attributes[Type]", "spec.filters[1].cesql",
                         "spec.delivery.retry", "spec.delivery.backoffDelay"):
                assert path in err, f"{path} missing from: {err}"

            # defaulting: a bare Broker gets the class and Knative's delivery defaults
            api.kubectl("create", "-f", "-", input=json.dumps({
                "apiVersion": "eventing.knative.dev/v1", "kind": "Broker",
                "metadata": {"name": "default", "namespace": ns}}))
            b = json.loads(api.kubectl("get", "broker", "default", "-n", ns, "-o",
                                       "json").stdout)
            assert b["spec"]["delivery"] == {"retry": 10, "backoffPolicy": "exponential",
                                             "backoffDelay": "PT0.2S"}
            assert b["metadata"]["annotations"]["eventing.knative.dev/broker.class"] == \
                "MTChannelBasedBroker"

            # a good trigger is admitted (and labelled); its broker is immutable
            good = dict(bad, metadata={"name": "good", "namespace": ns},
                        spec={"broker": "default", "subscriber": {"uri": "http://sink/"}})
            api.kubectl("create", "-f", "-", input=json.dumps(good))
            t = json.loads(api.kubectl("get", "trigger", "good", "-n", ns, "-o",
                                       "json").stdout)
            assert t["metadata"]["labels"]["eventing.knative.dev/broker"] == "default"
            p = api.kubectl("patch", "trigger", "good", "-n", ns, "--type=merge", "-p",
                            '{"spec":{"broker":"other"}}', check=False)
            assert p.returncode != 0 and "spec.broker: immutable field changed" in p.stderr
    finally:
        for res, name in ((VALIDATING_WEBHOOKS, vname), (MUTATING_WEBHOOKS, mname)):
            await client.delete(res, None, name)


async def _eventually_ca(client: Client, res, name: str) -> dict:
    from knpy.runtime.k8s.testing import eventually

    async def get():
        cfg = await client.get(res, None, name)
        return cfg if cfg["webhooks"][0]["clientConfig"].get("caBundle") else None
    return await eventually(get, 20, what=f"caBundle on {name}")
