"""ApiServerSource against a real kube-apiserver: the controller checks RBAC with
SubjectAccessReviews, creates the adapter Deployment, and turns Ready; the adapter (a real
process run with the env the controller wrote) emits add/update/delete events for a
ConfigMap to a real HTTP sink."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knpy.controller.sources.resources import APISERVERSOURCES, DEPLOYMENTS
from knpy.runtime.k8s import CONFIGMAPS, Client, Resource
from tests.integration.sources.helpers import cond, env_of, make_available, source, until
from tests.support.apiserver import make_namespace
from tests.support.cluster import KubeAPI
from tests.support.procs import python_module, running
from tests.unit.sources.conftest import Sink

pytestmark = pytest.mark.timeout(120)

ROLES = Resource("rbac.authorization.k8s.io", "v1", "roles", "Role")
ROLEBINDINGS = Resource("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding")


async def grant(client: Client, ns: str, sa: str) -> None:
    await client.create(ROLES, {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "cm-reader", "namespace": ns},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"],
                   "verbs": ["get", "list", "watch"]}]})
    await client.create(ROLEBINDINGS, {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "cm-reader", "namespace": ns},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                    "name": "cm-reader"},
        "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": ns}]})


def cm(ns: str, name: str, labels: dict[str, str], data: dict[str, str]) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": ns, "labels": labels}, "data": data}


async def test_apiserversource_emits_configmap_events(
        controller, client: Client, namespace: str, sink: Sink, kube_sources: KubeAPI,
        logdir: Path) -> None:
    await client.create(APISERVERSOURCES, source(
        "ApiServerSource", namespace, "cms", mode="Resource", serviceAccountName="watcher",
        resources=[{"apiVersion": "v1", "kind": "ConfigMap",
                    "selector": {"matchLabels": {"watched": "yes"}}}],
        sink={"uri": sink.url}, ceOverrides={"extensions": {"team": "blue"}}))

    async def get():
        return await client.get(APISERVERSOURCES, namespace, "cms")
    s = await until(get, lambda o: cond(o, "SufficientPermissions").get("status") == "False",
                    what="no RBAC yet: SufficientPermissions False")
    assert "may not get configmaps" in cond(s, "SufficientPermissions")["message"]
    assert cond(s, "Ready")["status"] == "False"
    await grant(client, namespace, "watcher")
    s = await until(get, lambda o: cond(o, "SufficientPermissions").get("status") == "True",
                    what="RBAC granted (re-checked)")
    assert s["status"]["sinkUri"] == sink.url

    dep = await client.get(DEPLOYMENTS, namespace, "apiserversource-cms")
    assert dep["metadata"]["ownerReferences"][0]["kind"] == "ApiServerSource"
    assert dep["spec"]["template"]["spec"]["serviceAccountName"] == "watcher"
    env = env_of(dep)
    assert env["K_SINK"] == sink.url
    cfg = json.loads(env["K_SOURCE_CONFIG"])
    assert cfg["mode"] == "Resource" and cfg["namespaces"] == [namespace]
    await make_available(client, namespace, "apiserversource-cms")
    s = await until(get, lambda o: cond(o, "Ready").get("status") == "True", what="Ready")

    # run the adapter as the Deployment would (admin credentials stand in for the SA)
    await client.create(CONFIGMAPS, cm(namespace, "old", {"watched": "yes"}, {"a": "1"}))
    await client.create(CONFIGMAPS, cm(namespace, "ignored", {"watched": "no"}, {"a": "1"}))
    with running(python_module("knpy.sources", "--kubeconfig", kube_sources.kubeconfig,
                               "apiserver"), env={"K_SINK": env["K_SINK"],
                                                  "K_SOURCE_CONFIG": env["K_SOURCE_CONFIG"]},
                 log_path=logdir / "apiserver.log"):
        [first] = await sink.wait_for(1, within=20)  # existing objects arrive as adds
        assert first.type == "dev.knative.apiserver.resource.add"
        assert json.loads(first.data)["metadata"]["name"] == "old"
        made = await client.create(CONFIGMAPS, cm(namespace, "new", {"watched": "yes"},
                                                  {"a": "1"}))
        made["data"] = {"a": "2"}
        await client.update(CONFIGMAPS, made)
        await client.delete(CONFIGMAPS, namespace, "new")
        events = await sink.wait_for(4, within=20)
    got = [(e.type, e.get("name")) for e in events]
    assert got == [("dev.knative.apiserver.resource.add", "old"),
                   ("dev.knative.apiserver.resource.add", "new"),
                   ("dev.knative.apiserver.resource.update", "new"),
                   ("dev.knative.apiserver.resource.delete", "new")]
    upd = events[2]
    assert json.loads(upd.data)["data"] == {"a": "2"}
    assert upd.source.startswith("https://127.0.0.1:")
    assert upd.get("subject") == f"/apis/v1/namespaces/{namespace}/configmaps/new"
    assert (upd.get("kind"), upd.get("namespace"), upd.get("team")) == (
        "ConfigMap", namespace, "blue")
    assert upd.datacontenttype == "application/json"


async def test_reference_mode_sends_object_references(
        controller, client: Client, namespace: str, sink: Sink, kube_sources: KubeAPI,
        logdir: Path) -> None:
    cfg = {"namespaces": [namespace], "mode": "Reference",
           "resources": [{"apiVersion": "v1", "kind": "ConfigMap"}]}
    with running(python_module("knpy.sources", "--kubeconfig", kube_sources.kubeconfig,
                               "apiserver"),
                 env={"K_SINK": sink.url, "K_SOURCE_CONFIG": json.dumps(cfg)},
                 log_path=logdir / "apiserver-ref.log"):
        await client.create(CONFIGMAPS, cm(namespace, "r", {}, {"x": "y"}))
        events = await sink.wait_for(1, within=20)
        refs = [e for e in events if e.get("name") == "r"]
        if not refs:
            events = await sink.wait_for(len(events) + 1, within=20)
            refs = [e for e in events if e.get("name") == "r"]
    e = refs[0]
    assert e.type == "dev.knative.apiserver.ref.add"
    assert json.loads(e.data) == {"kind": "ConfigMap", "namespace": namespace, "name": "r",
                                  "apiVersion": "v1"}


async def test_namespace_selector_spans_namespaces(
        controller, client: Client, namespace: str, sink: Sink, kube_sources: KubeAPI,
        logdir: Path) -> None:
    team = f"t{namespace[-8:]}"
    other = make_namespace(kube_sources, "src-other", {"team": team})
    await grant(client, other, "watcher")  # the SA lives in `namespace`, reads `other`
    rb = await client.get(ROLEBINDINGS, other, "cm-reader")
    rb["subjects"][0]["namespace"] = namespace
    await client.update(ROLEBINDINGS, rb)
    await client.create(APISERVERSOURCES, source(
        "ApiServerSource", namespace, "team", serviceAccountName="watcher",
        namespaceSelector={"matchLabels": {"team": team}},
        resources=[{"apiVersion": "v1", "kind": "ConfigMap"}], sink={"uri": sink.url}))

    async def get():
        return await client.get(APISERVERSOURCES, namespace, "team")
    await until(get, lambda o: cond(o, "SufficientPermissions").get("status") == "True",
                what="permissions in the selected namespace")
    dep = await client.get(DEPLOYMENTS, namespace, "apiserversource-team")
    env = env_of(dep)
    assert json.loads(env["K_SOURCE_CONFIG"])["namespaces"] == [other]
    with running(python_module("knpy.sources", "--kubeconfig", kube_sources.kubeconfig,
                               "apiserver"),
                 env={"K_SINK": env["K_SINK"], "K_SOURCE_CONFIG": env["K_SOURCE_CONFIG"]},
                 log_path=logdir / "apiserver-team.log"):
        await client.create(CONFIGMAPS, cm(namespace, "not-selected", {}, {}))
        await client.create(CONFIGMAPS, cm(other, "selected", {}, {}))
        [e] = await sink.wait_for(1, within=20)
    assert e.type == "dev.knative.apiserver.ref.add"
    assert (e.get("namespace"), e.get("name")) == (other, "selected")
