"""The webhook process registered with a real API server: it manages its own certificate,
sets the caBundle, defaults Brokers and rejects a bad Trigger with field-pathed errors."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from knpy.runtime.k8s import SECRETS, Client
from tests.support.admission import running_webhook
from tests.support.cluster import KubeAPI

pytestmark = pytest.mark.timeout(120)


async def test_webhook_admission_end_to_end(kube_crds: KubeAPI, client: Client,
                                            logdir: Path) -> None:
    api = kube_crds
    async with running_webhook(api, client, logdir, group="eventing.knative.dev",
                               resources=["brokers", "triggers"], prefix="wh") as hooks:
        ns, vname = hooks.namespace, hooks.validating
        # it issued its own certificate into a Secret and registered its CA
        secret = await client.get(SECRETS, hooks.system, "knpy-webhook-certs")
        ca = base64.b64decode(secret["data"]["ca-cert.pem"])
        for cfg in hooks.configs:
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
        assert p.returncode != 0 and ("validation failed: Immutable fields changed "
                                      "(-old +new): spec.broker") in p.stderr, p.stderr
