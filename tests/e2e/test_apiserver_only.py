"""The API-server-only fixture: a real kube-apiserver + etcd, with the two source fixes the
harness applies (docs/cluster.md): custom resources can be created at all (reflect2), and
empty strings in them are accepted (openapi validation)."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
import uuid

import pytest

from tests.support.cluster import KubeAPI, KubeError

CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.smoke.knpy.dev}
spec:
  group: smoke.knpy.dev
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [name]
            properties:
              name: {type: string}
              note: {type: string, default: ""}
              labels: {type: object, additionalProperties: {type: string}}
          status:
            type: object
            x-kubernetes-preserve-unknown-fields: true
"""


@pytest.fixture(scope="module")
def widgets(kube_apiserver: KubeAPI) -> KubeAPI:
    kube_apiserver.apply(CRD)
    kube_apiserver.kubectl("wait", "--for=condition=Established",
                           "crd/widgets.smoke.knpy.dev", "--timeout=30s", timeout=40)
    return kube_apiserver


def test_handle_has_kubeconfig_server_and_kubectl(kube_apiserver: KubeAPI) -> None:
    assert kube_apiserver.server.startswith("https://127.0.0.1:")
    assert kube_apiserver.kubectl("get", "--raw", "/readyz").stdout.strip() == "ok"
    assert "v1.20.2" in kube_apiserver.kubectl("version", "-o", "json").stdout


def test_custom_resource_with_empty_strings_and_default(widgets: KubeAPI) -> None:
    name = f"w-{uuid.uuid4().hex[:6]}"
    cr = {"apiVersion": "smoke.knpy.dev/v1", "kind": "Widget",
          "metadata": {"name": name, "namespace": "default"},
          "spec": {"name": "", "labels": {"empty": ""}}}
    widgets.kubectl("create", "-f", "-", input=json.dumps(cr))
    got = json.loads(widgets.kubectl("get", "widget", name, "-o", "json").stdout)
    # Empty strings round-trip, and the CRD's `default: ""` was applied.
    assert got["spec"] == {"name": "", "note": "", "labels": {"empty": ""}}
    # The status subresource takes a patch with empty values too.
    widgets.kubectl("patch", "widget", name, "--subresource=status", "--type=merge",
                    "-p", json.dumps({"status": {"reason": "", "annotations": {"a": ""}}}))
    got = json.loads(widgets.kubectl("get", "widget", name, "-o", "json").stdout)
    assert got["status"] == {"reason": "", "annotations": {"a": ""}}
    widgets.kubectl("delete", "widget", name)


def test_invalid_custom_resource_names_the_field(widgets: KubeAPI) -> None:
    bad = {"apiVersion": "smoke.knpy.dev/v1", "kind": "Widget",
           "metadata": {"name": "bad", "namespace": "default"}, "spec": {"name": 7}}
    with pytest.raises(KubeError, match=r"spec\.name"):
        widgets.kubectl("create", "-f", "-", input=json.dumps(bad))


def test_client_without_credentials_is_refused(kube_apiserver: KubeAPI) -> None:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f"{kube_apiserver.server}/api/v1/namespaces",
                               context=ctx, timeout=10)
    assert e.value.code in (401, 403)
