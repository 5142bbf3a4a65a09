"""SinkBinding against a real kube-apiserver: K_SINK lands in Deployments created before
and after the binding, follows a sink change, comes back if a user strips it, and is
removed (with the finalizer) when the binding is deleted."""

from __future__ import annotations

import json

import pytest

from knpy.controller.sources.resources import DEPLOYMENTS, SINKBINDINGS
from knpy.runtime.k8s import SERVICES, ApiError, Client
from tests.integration.sources.helpers import cond, deployment, env_of, source, until
from tests.support.apiserver import edit

pytestmark = pytest.mark.timeout(120)


async def test_selector_binding_injects_before_and_after_and_undoes(
        controller, client: Client, namespace: str) -> None:
    await client.create(SERVICES, {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "sink",
                                                          "namespace": namespace},
        "spec": {"ports": [{"port": 80}], "selector": {"app": "sink"}}})
    await client.create(DEPLOYMENTS, deployment(namespace, "before", {"bind": "yes"},
                                                containers=2))
    await client.create(DEPLOYMENTS, deployment(namespace, "unrelated", {"bind": "no"}))
    await client.create(SINKBINDINGS, source(
        "SinkBinding", namespace, "sb",
        subject={"apiVersion": "apps/v1", "kind": "Deployment",
                 "selector": {"matchLabels": {"bind": "yes"}}},
        sink={"ref": {"apiVersion": "v1", "kind": "Service", "name": "sink"}, "uri": "/in"},
        ceOverrides={"extensions": {"team": "blue"}}))
    want = f"http://sink.{namespace}.svc.cluster.local/in"

    sb = await until(lambda: client.get(SINKBINDINGS, namespace, "sb"),
                     lambda o: cond(o, "Ready").get("status") == "True", what="binding Ready")
    assert sb["status"]["sinkUri"] == want
    assert "sinkbindings.sources.knative.dev" in sb["metadata"]["finalizers"]

    def bound(o: dict) -> bool:
        return all(env_of(o, i).get("K_SINK") == want
                   for i in range(len(o["spec"]["template"]["spec"]["containers"])))
    before = await until(lambda: client.get(DEPLOYMENTS, namespace, "before"), bound,
                         what="K_SINK in the deployment created before")
    env = env_of(before)
    assert env["KEEP"] == "me", "existing env is kept"
    assert json.loads(env["K_CE_OVERRIDES"]) == {"extensions": {"team": "blue"}}

    await client.create(DEPLOYMENTS, deployment(namespace, "after", {"bind": "yes"}))
    await until(lambda: client.get(DEPLOYMENTS, namespace, "after"), bound,
                what="K_SINK in the deployment created after the binding")
    assert "K_SINK" not in env_of(await client.get(DEPLOYMENTS, namespace, "unrelated"))

    # level-triggered: a user edit that strips K_SINK is undone
    await edit(client, DEPLOYMENTS, namespace, "after",
               lambda o: o["spec"]["template"]["spec"]["containers"][0].update(
                   env=[{"name": "KEEP", "value": "me"}]))
    await until(lambda: client.get(DEPLOYMENTS, namespace, "after"), bound,
                what="K_SINK restored")

    assert (await client.get(DEPLOYMENTS, namespace, "after"))["metadata"]["annotations"][
        "sources.knpy.dev/sinkbinding"] == "sb"

    # a subject whose labels stop matching is unbound; matching again binds it again
    await edit(client, DEPLOYMENTS, namespace, "after",
               lambda o: o["metadata"].update(labels={"bind": "later"}))
    await until(lambda: client.get(DEPLOYMENTS, namespace, "after"),
                lambda o: "K_SINK" not in env_of(o), what="unbound after the label change")
    await edit(client, DEPLOYMENTS, namespace, "after",
               lambda o: o["metadata"].update(labels={"bind": "yes"}))
    await until(lambda: client.get(DEPLOYMENTS, namespace, "after"), bound,
                what="bound again")

    # deleting the binding removes what it injected, then the finalizer lets it go
    await client.delete(SINKBINDINGS, namespace, "sb")
    for name in ("before", "after"):
        d = await until(lambda n=name: client.get(DEPLOYMENTS, namespace, n),
                        lambda o: "K_SINK" not in env_of(o) and "K_CE_OVERRIDES" not in
                        env_of(o), what=f"K_SINK removed from {name}")
        assert env_of(d) == {"KEEP": "me"}
        assert "sources.knpy.dev/sinkbinding" not in d["metadata"].get("annotations", {})

    async def gone() -> bool:
        try:
            await client.get(SINKBINDINGS, namespace, "sb")
        except ApiError as exc:
            return exc.not_found
        return False
    await until(gone, lambda ok: ok, what="binding deleted")


async def test_named_subject_and_uri_sink(controller, client: Client, namespace: str) -> None:
    await client.create(SINKBINDINGS, source(
        "SinkBinding", namespace, "by-name",
        subject={"apiVersion": "apps/v1", "kind": "Deployment", "name": "app"},
        sink={"uri": "http://events.example.com/"}))
    sb = await until(lambda: client.get(SINKBINDINGS, namespace, "by-name"),
                     lambda o: cond(o, "Ready").get("status") == "True",
                     what="Ready with no subject yet")
    assert cond(sb, "BindingAvailable").get("reason") == "NoSubjects"
    await client.create(DEPLOYMENTS, deployment(namespace, "app"))
    await client.create(DEPLOYMENTS, deployment(namespace, "app2"))
    d = await until(lambda: client.get(DEPLOYMENTS, namespace, "app"),
                    lambda o: env_of(o).get("K_SINK") == "http://events.example.com/",
                    what="K_SINK in the named subject")
    assert "K_CE_OVERRIDES" not in env_of(d)
    assert "K_SINK" not in env_of(await client.get(DEPLOYMENTS, namespace, "app2"))

    # changing the sink re-binds with the new URI
    await edit(client, SINKBINDINGS, namespace, "by-name",
               lambda o: o["spec"].update(sink={"uri": "http://other.example.com/"}))
    await until(lambda: client.get(DEPLOYMENTS, namespace, "app"),
                lambda o: env_of(o).get("K_SINK") == "http://other.example.com/",
                what="K_SINK follows the sink")
