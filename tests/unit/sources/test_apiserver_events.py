"""The events the apiserver adapter builds (pure)."""

from __future__ import annotations

import json

from knpy.sources.apiserverevents import ADD, DELETE, UPDATE, apiserver_event

CM = {"apiVersion": "v1", "kind": "ConfigMap",
      "metadata": {"name": "cfg", "namespace": "demo", "uid": "u"}, "data": {"k": "v"}}


def test_reference_mode() -> None:
    e = apiserver_event("https://10.96.0.1:443", "Reference", ADD, CM, "configmaps")
    assert e.type == "dev.knative.apiserver.ref.add"
    assert e.source == "https://10.96.0.1:443"
    assert e.get("subject") == "/apis/v1/namespaces/demo/configmaps/cfg"
    assert (e.get("kind"), e.get("name"), e.get("namespace")) == ("ConfigMap", "cfg", "demo")
    assert e.datacontenttype == "application/json"
    assert json.loads(e.data) == {"kind": "ConfigMap", "namespace": "demo", "name": "cfg",
                                  "apiVersion": "v1"}


def test_resource_mode_and_types() -> None:
    e = apiserver_event("s", "Resource", UPDATE, CM, "configmaps", {"team": "x"})
    assert e.type == "dev.knative.apiserver.resource.update"
    assert json.loads(e.data) == CM and e.get("team") == "x"
    assert apiserver_event("s", "Resource", DELETE, CM, "configmaps").type == \
        "dev.knative.apiserver.resource.delete"
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d",
                                                                       "namespace": "n"}}
    assert apiserver_event("s", "Reference", DELETE, dep, "deployments").get("subject") == \
        "/apis/apps/v1/namespaces/n/deployments/d"
