"""The webhook process registered with a real API server for flows.knative.dev: a Sequence
without channelTemplate gets it from default-ch-webhook and its refs the namespace; a
Sequence without steps and a Parallel with a bad branch are denied with field paths
(through kubectl)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.admission import running_webhook
from tests.support.cluster import KubeAPI

pytestmark = pytest.mark.timeout(120)
FLOWS = "flows.knative.dev/v1"


async def test_sequence_defaulted_and_flows_validated_through_kubectl(
        kube_flows: KubeAPI, client, logdir: Path) -> None:
    api = kube_flows
    async with running_webhook(api, client, logdir, group="flows.knative.dev",
                               resources=["sequences", "parallels"], prefix="flows") as hooks:
        ns = hooks.namespace
        api.kubectl("create", "-f", "-", input=json.dumps({
            "apiVersion": FLOWS, "kind": "Sequence", "metadata": {"name": "s", "namespace": ns},
            "spec": {"steps": [{"ref": {"apiVersion": "v1", "kind": "Service", "name": "a"}}]}}))
        s = json.loads(api.kubectl("get", "sequences.flows.knative.dev", "s", "-n", ns,
                                   "-o", "json").stdout)
        assert s["spec"]["channelTemplate"] == {"apiVersion": "messaging.knative.dev/v1",
                                                "kind": "InMemoryChannel"}
        assert s["spec"]["steps"][0]["ref"]["namespace"] == ns

        p = api.kubectl("patch", "sequences.flows.knative.dev", "s", "-n", ns, "--type=merge",
                        "-p", '{"spec":{"steps":[]}}', check=False)
        assert p.returncode != 0 and "must have at least one step: spec.steps" in p.stderr

        bad = {"apiVersion": FLOWS, "kind": "Parallel", "metadata": {"name": "p", "namespace": ns},
               "spec": {"branches": [{"filter": {"uri": "relative"},
                                      "subscriber": {"uri": "http://s/"},
                                      "delivery": {"retry": -1}}]}}
        p = api.kubectl("create", "-f", "-", input=json.dumps(bad), check=False)
        assert p.returncode != 0
        for path in ("spec.branches[0].filter.uri", "spec.branches[0].delivery.retry"):
            assert path in p.stderr, f"{path} missing from: {p.stderr}"
