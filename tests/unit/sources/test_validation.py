"""Admission rules of the sources, through the webhook's AdmissionReview handling: every
error names its field."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from knpy.apis.sources import v1
from knpy.webhook.admission import default_review, validate_review
from knpy.webhook.sources import sources_handlers

NS = "demo"
SINK = {"ref": {"apiVersion": "v1", "kind": "Service", "name": "sink"}}


def obj(kind: str, **spec: Any) -> dict:
    return {"apiVersion": "sources.knative.dev/v1", "kind": kind,
            "metadata": {"name": "s", "namespace": NS}, "spec": spec}


def review(o: dict, old: dict | None = None) -> dict:
    req = {"uid": "u1", "kind": {"group": "sources.knative.dev", "version": "v1",
                                 "kind": o["kind"]},
           "operation": "UPDATE" if old else "CREATE", "object": o}
    if old:
        req["oldObject"] = old
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": req}


def denied(o: dict, old: dict | None = None) -> str:
    resp = validate_review(review(o, old), sources_handlers())["response"]
    assert not resp["allowed"], "expected a denial"
    return resp["status"]["message"]


def first_error(msg: str) -> str:
    """The first error of a denial, `<message>: <paths>` (Knative's layout)."""
    assert msg.startswith("validation failed: "), msg
    return msg.removeprefix("validation failed: ").splitlines()[0]


def allowed(o: dict) -> bool:
    return validate_review(review(o), sources_handlers())["response"]["allowed"]


def test_valid_pingsources_pass() -> None:
    assert allowed(obj("PingSource", schedule="*/1 * * * *", data='{"m":1}',
                       contentType="application/json", sink=SINK))
    assert allowed(obj("PingSource", schedule="@every 10s", timezone="Europe/Paris",
                       dataBase64=base64.b64encode(b"\x00\x01").decode(),
                       sink={"uri": "http://x.example/"}))
    assert allowed(obj("PingSource", schedule="CRON_TZ=Asia/Tokyo 0 9 * * MON", sink=SINK))


@pytest.mark.parametrize("spec, path", [
    ({"schedule": "* * *", "sink": SINK}, "spec.schedule"),
    ({"schedule": "61 * * * *", "sink": SINK}, "spec.schedule"),
    ({"sink": SINK}, "spec.schedule"),
    ({"schedule": "* * * * *", "timezone": "Mars/Base", "sink": SINK}, "spec.timezone"),
    ({"schedule": "* * * * *", "data": "a", "dataBase64": "YQ==", "sink": SINK},
     "spec.data, spec.dataBase64"),
    ({"schedule": "* * * * *", "dataBase64": "%%%", "sink": SINK}, "spec.dataBase64"),
    ({"schedule": "* * * * *"}, "spec.sink"),
    ({"schedule": "* * * * *", "sink": {"uri": "relative/path"}}, "spec.sink.uri"),
    ({"schedule": "* * * * *", "sink": {"ref": {"kind": "Service", "name": "x"}}},
     "spec.sink.ref.apiVersion"),
    ({"schedule": "* * * * *", "sink": {"ref": {**SINK["ref"], "namespace": "other"}}},
     "spec.sink.ref.namespace"),
    ({"schedule": "* * * * *", "sink": SINK, "ceOverrides": {"extensions": {"Bad-Key": "x"}}},
     "spec.ceOverrides.extensions"),
    ({"schedule": "CRON_TZ=UTC * * * * *", "timezone": "UTC", "sink": SINK}, "spec.schedule"),
])
def test_bad_pingsources_are_denied_with_the_field_path(spec: dict, path: str) -> None:
    msg = denied(obj("PingSource", **spec))
    assert first_error(msg).endswith(": " + path), msg


SUBJECT = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "app"}


@pytest.mark.parametrize("subject, path, words", [
    ({**SUBJECT, "selector": {"matchLabels": {"a": "b"}}}, "spec.subject.name, "
     "spec.subject.selector", "expected exactly one, got both"),
    ({"apiVersion": "apps/v1", "kind": "Deployment"}, "spec.subject.name, "
     "spec.subject.selector", "got neither"),
    ({"kind": "Deployment", "name": "app"}, "spec.subject.apiVersion", "missing"),
    ({"apiVersion": "apps/v1", "name": "app"}, "spec.subject.kind", "missing"),
    ({**SUBJECT, "namespace": "elsewhere"}, "spec.subject.namespace", "own namespace"),
    ({"apiVersion": "apps/v1", "kind": "Deployment",
      "selector": {"matchExpressions": [{"key": "a", "operator": "Near"}]}},
     "spec.subject.selector.matchExpressions[0].operator", "invalid value"),
    ({"apiVersion": "apps/v1", "kind": "Deployment", "selector": {}},
     "spec.subject.selector", "selects nothing"),
])
def test_sinkbinding_subject_rules(subject: dict, path: str, words: str) -> None:
    msg = denied(obj("SinkBinding", subject=subject, sink=SINK))
    assert first_error(msg).endswith(": " + path) and words in msg, msg


def test_sinkbinding_subject_kind_is_immutable_and_defaults_fill_namespaces() -> None:
    old = obj("SinkBinding", subject=SUBJECT, sink=SINK)
    new = obj("SinkBinding", subject={**SUBJECT, "kind": "StatefulSet"}, sink=SINK)
    assert denied(new, old) == ("validation failed: Immutable fields changed (-old +new): "
                                'spec.subject.kind\n-: "Deployment"\n+: "StatefulSet"')
    assert allowed(obj("SinkBinding", subject={"apiVersion": "apps/v1", "kind": "Deployment",
                                               "selector": {"matchLabels": {"app": "x"}}},
                       sink=SINK))
    out = v1.set_sinkbinding_defaults(old)
    assert out["spec"]["subject"]["namespace"] == NS
    assert out["spec"]["sink"]["ref"]["namespace"] == NS
    resp = default_review(review(old), sources_handlers())["response"]
    patch = json.loads(base64.b64decode(resp["patch"]))
    assert {"op": "add", "path": "/spec/subject/namespace", "value": NS} in patch


def test_apiserversource_rules_and_defaults() -> None:
    ok = obj("ApiServerSource", resources=[{"apiVersion": "v1", "kind": "ConfigMap"}],
             sink=SINK)
    assert allowed(ok)
    d = v1.set_apiserversource_defaults(ok)
    assert d["spec"]["mode"] == "Reference" and d["spec"]["serviceAccountName"] == "default"
    assert first_error(denied(obj("ApiServerSource", resources=[], sink=SINK))) == \
        "missing field(s): spec.resources"
    assert first_error(denied(obj("ApiServerSource", resources=[{"kind": "ConfigMap"}],
                                  mode="Resource", sink=SINK))) == \
        "missing field(s): spec.resources[0].apiVersion"
    assert first_error(denied(obj("ApiServerSource",
                                  resources=[{"apiVersion": "v1", "kind": "Pod"}],
                                  mode="Everything", sink=SINK))) == \
        "invalid value: Everything: spec.mode"


def test_containersource_rules() -> None:
    tpl = {"spec": {"containers": [{"name": "c", "image": "example/heartbeats"}]}}
    assert allowed(obj("ContainerSource", template=tpl, sink=SINK))
    assert first_error(denied(obj("ContainerSource",
                                  template={"spec": {"containers": [{"name": "c"}]}},
                                  sink=SINK))) == \
        "missing field(s): spec.template.spec.containers[0].image"
    assert first_error(denied(obj("ContainerSource", sink=SINK))) == \
        "missing field(s): spec.template.spec.containers"


def test_apiserversource_namespace_selector() -> None:
    res = [{"apiVersion": "v1", "kind": "ConfigMap"}]
    assert allowed(obj("ApiServerSource", resources=res, sink=SINK, namespaceSelector={}))
    assert allowed(obj("ApiServerSource", resources=res, sink=SINK,
                       namespaceSelector={"matchLabels": {"team": "x"}}))
    msg = denied(obj("ApiServerSource", resources=res, sink=SINK, namespaceSelector={
        "matchExpressions": [{"key": "team", "operator": "In"}]}))
    assert first_error(msg) == \
        "missing field(s): spec.namespaceSelector.matchExpressions[0].values", msg


def test_a_pingsource_without_schedule_is_defaulted_to_every_minute() -> None:
    """Knative's defaultSchedule: rekt's TestSmoke_PingSource creates one without a
    schedule, which knpy's webhook used to deny (`missing field(s): spec.schedule`)."""
    from knpy.apis.sources.v1.pingsource_defaults import set_pingsource_defaults
    bare = obj("PingSource", sink=SINK)
    assert set_pingsource_defaults(bare)["spec"]["schedule"] == "* * * * *"
    assert allowed(set_pingsource_defaults(bare))
    given = obj("PingSource", schedule="@every 10s", sink=SINK)
    assert set_pingsource_defaults(given)["spec"]["schedule"] == "@every 10s"
