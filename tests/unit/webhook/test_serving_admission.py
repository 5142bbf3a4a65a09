"""Serving through the webhook's admission entry points: AdmissionReview in, response out
(the JSON patch a defaulted ksvc gets, and rejections with their field paths)."""

from __future__ import annotations

import base64
import copy
import json

from knpy.apis.serving.config_defaults import parse_defaults
from knpy.apis.serving.configmaps import ServingConfig
from knpy.webhook.admission import (
    default_review,
    eventing_handlers,
    merge_handlers,
    validate_review,
)
from knpy.webhook.serving import serving_handlers
from knpy.webhook.sources import sources_handlers

H = merge_handlers(eventing_handlers(), sources_handlers(), serving_handlers())


def review(obj: dict, op: str = "CREATE", old: dict | None = None,
           user: str = "alice") -> dict:
    g, _, v = obj.get("apiVersion", "").rpartition("/")
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {"uid": "u-1", "operation": op, "userInfo": {"username": user},
                        "kind": {"group": g, "version": v, "kind": obj["kind"]},
                        "object": obj, "oldObject": old}}


def ksvc(**tspec) -> dict:
    spec = {"containers": [{"image": "app", "ports": [{"containerPort": 8080}]}], **tspec}
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
            "metadata": {"name": "hello", "namespace": "ns"},
            "spec": {"template": {"spec": spec}}}


def patched(obj: dict, resp: dict) -> dict:
    out = copy.deepcopy(obj)
    # no patch = nothing to change ("W10=" is base64 of "[]")
    for op in json.loads(base64.b64decode(resp["response"].get("patch", "W10="))):
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        cur = out
        for p in parts[:-1]:
            cur = cur[int(p)] if isinstance(cur, list) else cur[p]
        assert op["op"] in ("add", "replace")
        cur[parts[-1]] = op["value"]
    return out


def denied(resp: dict) -> str:
    r = resp["response"]
    assert r["allowed"] is False and r["status"]["code"] == 400
    return r["status"]["message"]


def test_ksvc_gets_knatives_defaults_as_a_patch() -> None:
    obj = ksvc()
    resp = default_review(review(obj), H)
    assert resp["response"]["allowed"] and resp["response"]["patchType"] == "JSONPatch"
    out = patched(obj, resp)
    assert out["spec"]["traffic"] == [{"percent": 100, "latestRevision": True}]
    t = out["spec"]["template"]["spec"]
    assert (t["timeoutSeconds"], t["containerConcurrency"]) == (300, 0)
    assert t["containers"][0]["name"] == "user-container"
    assert validate_review(review(out), H)["response"]["allowed"]
    assert out["metadata"]["annotations"] == {"serving.knative.dev/creator": "alice",
                                              "serving.knative.dev/lastModifier": "alice"}


def test_last_modifier_follows_spec_changes_only() -> None:
    old = patched(ksvc(), default_review(review(ksvc()), H))
    relabelled = copy.deepcopy(old)
    relabelled["metadata"]["labels"] = {"team": "x"}
    out = patched(relabelled, default_review(review(relabelled, "UPDATE", old, "bob"), H))
    assert out["metadata"]["annotations"]["serving.knative.dev/lastModifier"] == "alice"
    changed = copy.deepcopy(old)
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "app2"
    out = patched(changed, default_review(review(changed, "UPDATE", old, "bob"), H))
    assert out["metadata"]["annotations"] == {"serving.knative.dev/creator": "alice",
                                              "serving.knative.dev/lastModifier": "bob"}


def test_rejections_come_back_with_paths() -> None:
    msg = denied(validate_review(review(ksvc(containerConcurrency=1001)), H))
    assert msg == "validation failed: expected 0 <= 1001 <= 1000: " \
        "spec.template.spec.containerConcurrency"
    msg = denied(validate_review(review(ksvc(timeoutSeconds=601)), H))
    assert "expected 0 <= 601 <= 600: spec.template.spec.timeoutSeconds" in msg
    bad = ksvc()
    bad["spec"]["traffic"] = [{"latestRevision": True, "percent": 50, "tag": "-x"}]
    msg = denied(validate_review(review(bad), H))
    assert "Traffic targets sum to 50, want 100: spec.traffic" in msg
    assert "invalid value: -x: spec.traffic[0].tag\n" in msg
    bad = ksvc()
    bad["spec"]["template"]["metadata"] = {"annotations": {
        "autoscaling.knative.dev/min-scale": "3", "autoscaling.knative.dev/max-scale": "1"}}
    msg = denied(validate_review(review(bad), H))
    assert "spec.template.metadata.annotations[autoscaling.knative.dev/min-scale]" in msg


def test_invalid_service_account_name_reads_as_knatives_conformance_wants() -> None:
    """Knative's TestServiceAccountValidation (api/v1) checks this text is in the error:
    the value, the path, and on the next line Kubernetes' IsDNS1123Subdomain messages."""
    dns1123_subdomain = (
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
        "'-' or '.', and must start and end with an alphanumeric character (e.g. "
        "'example.com', regex used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
    want = "foo@bar.baz: spec.template.spec.serviceAccountName" + "\n" + dns1123_subdomain
    msg = denied(validate_review(review(ksvc(serviceAccountName="foo@bar.baz")), H))
    assert want in msg, msg
    assert msg == "validation failed: invalid value: " + want


def test_revision_spec_is_immutable_but_labels_and_status_are_not() -> None:
    rev = {"apiVersion": "serving.knative.dev/v1", "kind": "Revision",
           "metadata": {"name": "hello-00001", "namespace": "ns"},
           "spec": {"containers": [{"image": "app"}]}}
    new = copy.deepcopy(rev)
    new["spec"]["containers"][0]["image"] = "other"
    msg = denied(validate_review(review(new, "UPDATE", rev), H))
    assert msg.startswith("validation failed: Immutable fields changed (-old +new): spec\n")
    assert '\t+: [{"image": "other"}]' in msg
    new = copy.deepcopy(rev)
    new["metadata"]["labels"] = {"serving.knative.dev/routingState": "active"}
    new["status"] = {"actualReplicas": 1}
    assert validate_review(review(new, "UPDATE", rev), H)["response"]["allowed"]


def test_config_maps_of_both_stacks_are_validated_together() -> None:
    def cm(name: str, data: dict) -> dict:
        return {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": "knpy-system"}, "data": data}
    msg = denied(validate_review(review(cm("config-autoscaler", {"stable-window": "1s"})), H))
    assert "config-autoscaler[stable-window]" in msg
    msg = denied(validate_review(review(cm("config-defaults",
                                           {"container-concurrency": "2000"})), H))
    assert "config-defaults[container-concurrency]" in msg
    # the eventing table's config maps are still checked after the merge
    msg = denied(validate_review(review(cm("config-br-defaults", {"default-retry": "-1"})), H))
    assert "config-br-defaults[default-retry]" in msg
    assert validate_review(review(cm("unrelated", {"x": "y"})), H)["response"]["allowed"]


def test_defaults_follow_live_config() -> None:
    cfg = ServingConfig(defaults=parse_defaults({"revision-timeout-seconds": "42"}))
    h = serving_handlers(lambda: cfg)
    out = patched(ksvc(), default_review(review(ksvc()), h))
    assert out["spec"]["template"]["spec"]["timeoutSeconds"] == 42


def test_internal_kinds_are_validated() -> None:
    pa = {"apiVersion": "autoscaling.internal.knative.dev/v1alpha1", "kind": "PodAutoscaler",
          "metadata": {"name": "r", "namespace": "ns",
                       "annotations": {"autoscaling.knative.dev/target": "0"}},
          "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                      "name": "r-deployment"}, "containerConcurrency": 0}}
    msg = denied(validate_review(review(pa), H))
    assert "metadata.annotations[autoscaling.knative.dev/target]" in msg
    out = patched(pa, default_review(review(pa), H))
    assert out["metadata"]["annotations"]["autoscaling.knative.dev/class"] == \
        "kpa.autoscaling.knative.dev"
    sks = {"apiVersion": "networking.internal.knative.dev/v1alpha1",
           "kind": "ServerlessService", "metadata": {"name": "r", "namespace": "ns"},
           "spec": {"mode": "Sometimes", "objectRef": {"apiVersion": "apps/v1",
                                                       "kind": "Deployment", "name": "d"}}}
    assert "invalid value: Sometimes: spec.mode" in denied(validate_review(review(sks), H))


def test_creator_cannot_be_rewritten() -> None:
    old = patched(ksvc(), default_review(review(ksvc()), H))
    new = copy.deepcopy(old)
    new["metadata"]["annotations"]["serving.knative.dev/creator"] = "mallory"
    msg = denied(validate_review(review(new, "UPDATE", old), H))
    assert msg == ("validation failed: Immutable fields changed (-old +new): "
                   'metadata.annotations[serving.knative.dev/creator]\n-: "alice"\n+: "mallory"')
    new = copy.deepcopy(old)
    new["metadata"]["annotations"]["serving.knative.dev/lastModifier"] = "mallory"
    msg = denied(validate_review(review(new, "UPDATE", old), H))
    assert "Immutable fields changed (-old +new): " \
        "metadata.annotations[serving.knative.dev/lastModifier]\n" in msg


def test_children_of_a_service_keep_their_owners_user_annotations() -> None:
    cfg = {"apiVersion": "serving.knative.dev/v1", "kind": "Configuration",
           "metadata": {"name": "hello", "namespace": "ns",
                        "ownerReferences": [{"kind": "Service", "name": "hello"}],
                        "annotations": {"serving.knative.dev/creator": "alice"}},
           "spec": {"template": {"spec": {"containers": [{"image": "app"}]}}}}
    out = patched(cfg, default_review(review(cfg, user="system:serviceaccount:knpy"), H))
    assert out["metadata"]["annotations"] == {"serving.knative.dev/creator": "alice"}
    new = copy.deepcopy(out)
    new["metadata"]["annotations"]["serving.knative.dev/creator"] = "bob"
    assert validate_review(review(new, "UPDATE", out), H)["response"]["allowed"]


def test_domain_mappings_and_claims_are_defaulted_and_validated() -> None:
    dm = {"apiVersion": "serving.knative.dev/v1beta1", "kind": "DomainMapping",
          "metadata": {"name": "hello.example.org", "namespace": "ns"},
          "spec": {"ref": {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
                           "name": "hello"}}}
    out = patched(dm, default_review(review(dm), H))
    assert out["spec"]["ref"]["namespace"] == "ns"
    assert out["metadata"]["annotations"]["serving.knative.dev/creator"] == "alice"
    assert validate_review(review(out), H)["response"]["allowed"] is True
    bad = copy.deepcopy(dm)
    bad["metadata"]["name"] = "hello"
    bad["spec"]["ref"] = {"apiVersion": "v1", "kind": "Service", "namespace": "other"}
    msg = denied(validate_review(review(bad), H))
    assert "metadata.name" in msg and "spec.ref.name" in msg and "spec.ref.namespace" in msg
    claim = {"apiVersion": "networking.internal.knative.dev/v1alpha1",
             "kind": "ClusterDomainClaim", "metadata": {"name": "hello.example.org"},
             "spec": {}}
    assert "spec.namespace" in denied(validate_review(review(claim), H))
