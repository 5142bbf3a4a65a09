"""Serving v1 defaults and validation: the messages users see, with their field paths."""

from __future__ import annotations

import copy

import pytest

from knpy.apis.autoscaling.config import parse_autoscaler_config
from knpy.apis.serving import v1
from knpy.apis.serving.config_defaults import parse_defaults
from knpy.apis.serving.config_features import parse_features
from knpy.apis.serving.configmaps import ServingConfig

A = "autoscaling.knative.dev/"


def ksvc(*, annotations: dict | None = None, traffic: list | None = None,
         containers: list | None = None, **spec) -> dict:
    tspec = {"containers": containers or [{"image": "ko://app",
                                           "ports": [{"containerPort": 8080}]}], **spec}
    s: dict = {"template": {"metadata": {"annotations": annotations or {}}, "spec": tspec}}
    if traffic is not None:
        s["traffic"] = traffic
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
            "metadata": {"name": "hello", "namespace": "ns"}, "spec": s}


def errors(obj: dict, cfg: ServingConfig | None = None) -> str:
    return str(v1.validate_service(v1.set_service_defaults(obj), cfg))


def test_seed_manifest_is_valid_and_defaulted_like_knative() -> None:
    svc = ksvc(annotations={A + "target": "10"},
               containers=[{"image": "sample", "ports": [{"name": "http1",
                                                          "containerPort": 8080}],
                            "env": [{"name": "TARGET", "value": "World"}]}])
    d = v1.set_service_defaults(svc)
    assert not v1.validate_service(d)
    spec = d["spec"]["template"]["spec"]
    assert spec["timeoutSeconds"] == 300
    assert spec["containerConcurrency"] == 0
    assert spec["enableServiceLinks"] is False
    c = spec["containers"][0]
    assert c["name"] == "user-container"
    assert c["readinessProbe"] == {"tcpSocket": {"port": 0}, "successThreshold": 1}
    assert d["spec"]["traffic"] == [{"percent": 100, "latestRevision": True}]
    assert svc["spec"]["template"]["spec"].get("timeoutSeconds") is None  # a copy


def test_defaults_keep_what_is_set_and_name_several_containers() -> None:
    svc = ksvc(timeoutSeconds=30, containerConcurrency=5,
               containers=[{"image": "a", "ports": [{"containerPort": 8080}],
                            "readinessProbe": {"httpGet": {"path": "/h"},
                                               "periodSeconds": 5}},
                           {"image": "b"}],
               traffic=[{"revisionName": "hello-00001", "percent": 40},
                        {"percent": 60}])
    spec = v1.set_service_defaults(svc)["spec"]
    t = spec["template"]["spec"]
    assert (t["timeoutSeconds"], t["containerConcurrency"]) == (30, 5)
    assert [c["name"] for c in t["containers"]] == ["user-container-0", "user-container-1"]
    assert t["containers"][0]["readinessProbe"] == {
        "httpGet": {"path": "/h"}, "periodSeconds": 5, "successThreshold": 1,
        "failureThreshold": 3, "timeoutSeconds": 1}
    assert "readinessProbe" not in t["containers"][1]  # only the serving container
    assert [x["latestRevision"] for x in spec["traffic"]] == [False, True]


def test_config_defaults_apply() -> None:
    d = parse_defaults({"revision-timeout-seconds": "120", "container-concurrency": "8",
                        "container-name-template": "app", "revision-cpu-request": "100m"})
    t = v1.set_service_defaults(ksvc(), d)["spec"]["template"]["spec"]
    assert (t["timeoutSeconds"], t["containerConcurrency"]) == (120, 8)
    assert t["containers"][0]["name"] == "app"
    assert t["containers"][0]["resources"] == {"requests": {"cpu": "100m"}}


# Every rejection the issue lists, with the path and the rule the user reads.
@pytest.mark.parametrize(("obj", "want"), [
    pytest.param(ksvc(traffic=[{"latestRevision": True, "percent": 90}]),
                 "spec.traffic: Traffic targets sum to 90, want 100", id="traffic-sum"),
    pytest.param(ksvc(traffic=[{"latestRevision": True, "percent": 100, "tag": "Bad_Tag"}]),
                 "spec.traffic[0].tag: invalid value: Bad_Tag: a tag must be a DNS-1035 label",
                 id="bad-tag"),
    pytest.param(ksvc(traffic=[{"latestRevision": True, "percent": 50, "tag": "a"},
                               {"revisionName": "hello-1", "percent": 50, "tag": "a"}]),
                 "spec.traffic[0].tag, spec.traffic[1].tag: Multiple definitions for 'a'",
                 id="duplicate-tag"),
    pytest.param(ksvc(annotations={A + "min-scale": "5", A + "max-scale": "2"}),
                 f"spec.template.metadata.annotations[{A}min-scale]: invalid value: 5: "
                 "must not exceed max-scale (2)", id="min-over-max"),
    pytest.param(ksvc(annotations={A + "target": "0"}),
                 f"spec.template.metadata.annotations[{A}target]: invalid value: 0: "
                 "must be at least 0.01", id="target-0"),
    pytest.param(ksvc(containerConcurrency=1001),
                 "spec.template.spec.containerConcurrency: must be between 0 and 1000: "
                 "got 1001", id="cc-1001"),
    pytest.param(ksvc(timeoutSeconds=601),
                 "spec.template.spec.timeoutSeconds: must be between 0 and 600: got 601",
                 id="timeout-601"),
    pytest.param(ksvc(timeoutSeconds=100, responseStartTimeoutSeconds=200),
                 "spec.template.spec.responseStartTimeoutSeconds: must be between 0 and 100 "
                 "(timeoutSeconds): got 200", id="response-start-over-timeout"),
    pytest.param(ksvc(containers=[{"image": "a", "ports": [{"containerPort": 8080}]},
                                  {"image": "b", "ports": [{"containerPort": 9000}]}]),
                 "spec.template.spec.containers[1].ports: more than one container port is "
                 "set: only a single port is allowed across all containers",
                 id="two-containers-with-ports"),
    pytest.param(ksvc(containers=[{"image": "a", "env": [{"name": "K_SERVICE",
                                                          "value": "x"}]}]),
                 "spec.template.spec.containers[0].env[0].name: 'K_SERVICE' is a reserved "
                 "environment variable", id="reserved-env"),
    pytest.param(ksvc(containers=[{"image": "a", "ports": [{"containerPort": 8012}]}]),
                 "spec.template.spec.containers[0].ports[0].containerPort: 8012 is a reserved "
                 "port", id="reserved-port"),
    pytest.param(ksvc(annotations={A + "window": "5s"}),
                 f"spec.template.metadata.annotations[{A}window]: invalid value: 5s: "
                 "must be between 6s and 3600s", id="bad-window-annotation"),
    pytest.param(ksvc(annotations={A + "metric": "cpu"}),
                 f"spec.template.metadata.annotations[{A}metric]: invalid value: cpu: "
                 "must be one of concurrency, rps", id="kpa-metric"),
    pytest.param(ksvc(annotations={A + "activation-scale": "1"}),
                 f"annotations[{A}activation-scale]: invalid value: 1: must be at least 2",
                 id="activation-scale-1"),
    pytest.param(ksvc(traffic=[{"configurationName": "other", "percent": 100}]),
                 "spec.traffic[0].configurationName: must not set the field(s)",
                 id="ksvc-traffic-configuration"),
    pytest.param(ksvc(traffic=[{"revisionName": "hello-1", "configurationName": "c",
                                "percent": 100}]),
                 "spec.traffic[0].configurationName, spec.traffic[0].revisionName: expected "
                 "exactly one, got both", id="revision-and-configuration"),
    pytest.param(ksvc(traffic=[{"latestRevision": True, "percent": 100,
                                "url": "http://x"}]),
                 "spec.traffic[0].url: must not set the field(s)", id="url-in-spec"),
    pytest.param(ksvc(containers=[{"ports": [{"containerPort": 8080}]}]),
                 "spec.template.spec.containers[0].image: missing field(s)", id="no-image"),
    pytest.param(ksvc(containers=[{"image": "a", "ports": [{"containerPort": 8080,
                                                             "name": "grpc"}]}]),
                 "spec.template.spec.containers[0].ports[0].name: invalid value: grpc",
                 id="port-name"),
    pytest.param(ksvc(containers=[{"image": "a", "readinessProbe": {
                     "tcpSocket": {}, "failureThreshold": 3}}]),
                 "spec.template.spec.containers[0].readinessProbe.failureThreshold: must not "
                 "set the field(s): not allowed when periodSeconds is 0", id="aggressive-probe"),
    pytest.param(ksvc(containers=[{"image": "a", "ports": [{"containerPort": 8080}],
                                   "readinessProbe": {"httpGet": {"port": 9000}}}]),
                 "spec.template.spec.containers[0].readinessProbe.httpGet.port: invalid value: "
                 "9000: may only probe the containerPort (8080)", id="probe-port"),
    pytest.param(ksvc(nodeSelector={"a": "b"}),
                 "spec.template.spec.nodeSelector: must not set the field(s): enable it with "
                 "kubernetes.podspec-nodeselector", id="gated-field"),
    pytest.param(ksvc(containers=[{"image": "a", "volumeMounts": [
                     {"name": "v", "mountPath": "/var/log"}]}],
                      volumes=[{"name": "v", "emptyDir": {}}]),
                 "spec.template.spec.containers[0].volumeMounts[0].mountPath: '/var/log' is "
                 "a reserved path", id="reserved-path"),
    pytest.param(ksvc(containers=[{"image": "a", "lifecycle": {"postStart": {
                     "exec": {"command": ["true"]}}}}]),
                 "spec.template.spec.containers[0].lifecycle: must not set the field(s)",
                 id="lifecycle-hook"),
    pytest.param(ksvc(containers=[{"image": "a", "tty": True}]),
                 "spec.template.spec.containers[0].tty: must not set the field(s)", id="tty"),
    pytest.param(ksvc(containers=[{"image": "a", "securityContext": {"runAsUser": -10}}]),
                 "spec.template.spec.containers[0].securityContext.runAsUser: must be between "
                 "0 and 2147483647: got -10", id="negative-uid"),
    pytest.param(ksvc(serviceAccountName="foo@bar.baz"),
                 "spec.template.spec.serviceAccountName: invalid value: foo@bar.baz: a "
                 "lowercase RFC 1123 subdomain", id="service-account-name"),
])
def test_rejections_name_the_field_and_the_rule(obj: dict, want: str) -> None:
    assert want in errors(obj)


def test_template_name_must_carry_the_parent_prefix() -> None:
    svc = ksvc()
    svc["spec"]["template"]["metadata"]["name"] = "other-v1"
    assert "spec.template.metadata.name: invalid value: other-v1: must have prefix " \
        "'hello-'" in errors(svc)


def test_limits_follow_config_maps() -> None:
    cfg = ServingConfig(defaults=parse_defaults({"max-revision-timeout-seconds": "900",
                                                 "container-concurrency-max-limit": "50"}),
                        autoscaler=parse_autoscaler_config({"max-scale-limit": "10",
                                                                     "max-scale": "10"}),
                        features=parse_features({"kubernetes.podspec-nodeselector":
                                                 "enabled"}))
    assert not errors(ksvc(timeoutSeconds=800, nodeSelector={"a": "b"}), cfg)
    assert "must be between 0 and 50" in errors(ksvc(containerConcurrency=51), cfg)
    assert "max-scale-limit" in errors(ksvc(annotations={A + "max-scale": "20"}), cfg)


def test_multi_container_needs_one_serving_port() -> None:
    err = errors(ksvc(containers=[{"image": "a"}, {"image": "b"}]))
    assert "spec.template.spec.containers[*].ports: missing field(s)" in err
    both = ksvc(containers=[{"image": "a", "name": "x", "ports": [{"containerPort": 8080}]},
                            {"image": "b", "name": "x"}])
    assert "duplicate container name 'x'" in errors(both)


def test_revision_spec_is_immutable() -> None:
    rev = v1.set_revision_defaults({"apiVersion": "serving.knative.dev/v1", "kind": "Revision",
                                    "metadata": {"name": "hello-00001", "namespace": "ns"},
                                    "spec": {"containers": [{"image": "a"}]}})
    assert not v1.validate_revision(rev)
    changed = copy.deepcopy(rev)
    changed["spec"]["containers"][0]["image"] = "b"
    assert "spec: immutable field changed" in str(v1.validate_revision_update(rev, changed))
    labelled = copy.deepcopy(rev)
    labelled["metadata"]["labels"] = {"serving.knative.dev/routingState": "active"}
    assert not v1.validate_revision_update(rev, labelled)


def test_revision_stored_before_a_default_can_still_be_labelled() -> None:
    """The webhook defaults the new object on UPDATE too; the spec did not change."""
    stored = {"apiVersion": "serving.knative.dev/v1", "kind": "Revision",
              "metadata": {"name": "hello-00001", "namespace": "ns"},
              "spec": {"containers": [{"image": "a"}]}}
    updated = v1.set_revision_defaults(stored)
    updated["metadata"]["annotations"] = {"serving.knative.dev/routes": "hello"}
    assert not v1.validate_revision_update(stored, updated)


def test_byo_revision_name_changes_with_the_template() -> None:
    old = v1.set_service_defaults(ksvc())
    old["spec"]["template"]["metadata"]["name"] = "hello-v1"
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "ko://app2"
    assert "spec.template.metadata.name: saw a template change without a new revision " \
        "name" in str(v1.validate_service_update(old, new))
    new["spec"]["template"]["metadata"]["name"] = "hello-v2"
    assert not v1.validate_service_update(old, new)


def test_route_traffic_names_a_target() -> None:
    route = {"apiVersion": "serving.knative.dev/v1", "kind": "Route",
             "metadata": {"name": "r", "namespace": "ns"},
             "spec": {"traffic": [{"percent": 100}]}}
    d = v1.set_route_defaults(route)
    assert "spec.traffic[0].configurationName, spec.traffic[0].revisionName: expected " \
           "exactly one, got neither" in str(v1.validate_route(d))
    d["spec"]["traffic"][0]["configurationName"] = "c"
    assert not v1.validate_route(d)


def test_service_name_must_leave_room_for_revision_suffix() -> None:
    svc = ksvc()
    svc["metadata"]["name"] = "a" * 60
    assert "metadata.name: invalid value" in errors(svc)


def test_a_named_port_without_a_number_is_the_default_user_port() -> None:
    # Knative's runtime conformance (TestProtocols/http1) sets only the port's name
    obj = ksvc(containers=[{"image": "a", "ports": [{"name": "http1"}]}])
    assert errors(obj) == ""
    obj = ksvc(containers=[{"image": "a", "ports": [{"name": "http1", "containerPort": 0}]}])
    assert errors(obj) == ""
    rev = v1.Revision({"apiVersion": "serving.knative.dev/v1", "kind": "Revision",
                       "metadata": {"name": "r", "namespace": "ns"},
                       "spec": obj["spec"]["template"]["spec"]})
    assert rev.spec.user_port == 8080
