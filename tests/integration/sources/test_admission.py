"""The webhook process registered with a real API server for sources.knative.dev: bad
PingSources and SinkBindings are denied with field-pathed errors, defaults are applied."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knpy.runtime.k8s import Client
from tests.support.admission import running_webhook
from tests.support.apiserver import SOURCES_KINDS as PLURALS
from tests.support.cluster import KubeAPI

pytestmark = pytest.mark.timeout(120)


async def test_sources_admission_end_to_end(kube_sources: KubeAPI, client: Client,
                                            logdir: Path) -> None:
    api = kube_sources

    def create(obj: dict):
        return api.kubectl("create", "-f", "-", input=json.dumps(obj), check=False)

    async with running_webhook(api, client, logdir, group="sources.knative.dev",
                               resources=PLURALS, prefix="srcwh") as hooks:
        ns = hooks.namespace
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
        assert "expected exactly one, got both: spec.subject.name, spec.subject.selector" \
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
