"""ContainerSource against a real kube-apiserver: a Deployment from the template, a
SinkBinding that injects K_SINK into it, and a Ready status carrying the sinkUri."""

from __future__ import annotations

import pytest

from knpy.controller.sources.resources import CONTAINERSOURCES, DEPLOYMENTS, SINKBINDINGS
from knpy.runtime.k8s import Client
from tests.integration.sources.helpers import cond, env_of, make_available, source, until

pytestmark = pytest.mark.timeout(120)


async def test_containersource_runs_a_bound_deployment(controller, client: Client,
                                                       namespace: str) -> None:
    await client.create(CONTAINERSOURCES, source(
        "ContainerSource", namespace, "heartbeats",
        template={"spec": {"containers": [{"name": "hb", "image": "example.invalid/hb",
                                           "args": ["--period=1"]}]}},
        sink={"uri": "http://events.example.com/"}))
    dep = await until(lambda: client.get(DEPLOYMENTS, namespace, "heartbeats-deployment"),
                      lambda o: env_of(o).get("K_SINK") == "http://events.example.com/",
                      what="the Deployment, bound")
    assert dep["metadata"]["ownerReferences"][0]["kind"] == "ContainerSource"
    assert dep["spec"]["template"]["spec"]["containers"][0]["args"] == ["--period=1"]
    sb = await client.get(SINKBINDINGS, namespace, "heartbeats-sinkbinding")
    assert sb["spec"]["subject"]["name"] == "heartbeats-deployment"

    async def get():
        return await client.get(CONTAINERSOURCES, namespace, "heartbeats")
    s = await until(get, lambda o: cond(o, "SinkBindingReady").get("status") == "True",
                    what="SinkBindingReady")
    assert s["status"]["sinkUri"] == "http://events.example.com/"
    assert cond(s, "Ready")["status"] == "Unknown", "adapter not available yet"
    await make_available(client, namespace, "heartbeats-deployment")
    await until(get, lambda o: cond(o, "Ready").get("status") == "True", what="Ready")
