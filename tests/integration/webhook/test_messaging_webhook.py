"""The webhook process registered with a real API server for messaging.knative.dev: a bare
Channel gets its channelTemplate from default-ch-webhook, a bad Subscription is denied with
field paths, and a Subscription's channel cannot be changed (through kubectl)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.admission import running_webhook
from tests.support.cluster import KubeAPI

pytestmark = pytest.mark.timeout(120)
MSG = "messaging.knative.dev/v1"
CH, SUB = "channels.messaging.knative.dev", "subscriptions.messaging.knative.dev"


async def test_channel_defaulted_and_subscription_validated_through_kubectl(
        kube_messaging: KubeAPI, client, logdir: Path) -> None:
    api = kube_messaging
    async with running_webhook(api, client, logdir, group="messaging.knative.dev",
                               resources=["channels", "inmemorychannels", "subscriptions"],
                               prefix="msg") as hooks:
        ns = hooks.namespace
        api.kubectl("create", "-f", "-", input=json.dumps({
            "apiVersion": MSG, "kind": "Channel", "metadata": {"name": "c", "namespace": ns}}))
        ch = json.loads(api.kubectl("get", CH, "c", "-n", ns, "-o", "json").stdout)
        assert ch["spec"]["channelTemplate"] == {"apiVersion": MSG, "kind": "InMemoryChannel"}

        bad = {"apiVersion": MSG, "kind": "Subscription",
               "metadata": {"name": "bad", "namespace": ns},
               "spec": {"channel": {"apiVersion": MSG, "kind": "Channel", "name": "c"},
                        "delivery": {"retry": -1,
                                     "deadLetterSink": {"uri": "/relative"}}}}
        p = api.kubectl("create", "-f", "-", input=json.dumps(bad), check=False)
        assert p.returncode != 0
        for path in ("spec.reply", "spec.subscriber", "spec.delivery.retry",
                     "spec.delivery.deadLetterSink.uri"):
            assert path in p.stderr, f"{path} missing from: {p.stderr}"

        good = dict(bad, metadata={"name": "good", "namespace": ns}, spec={
            "channel": {"apiVersion": MSG, "kind": "Channel", "name": "c"},
            "subscriber": {"ref": {"apiVersion": "v1", "kind": "Service", "name": "s"}}})
        api.kubectl("create", "-f", "-", input=json.dumps(good))
        s = json.loads(api.kubectl("get", SUB, "good", "-n", ns, "-o", "json").stdout)
        assert s["spec"]["subscriber"]["ref"]["namespace"] == ns  # defaulted
        p = api.kubectl("patch", SUB, "good", "-n", ns, "--type=merge", "-p",
                        '{"spec":{"channel":{"name":"other"}}}', check=False)
        assert p.returncode != 0 and "Immutable fields changed (-old +new): spec.channel" \
            in p.stderr, p.stderr
