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
                 "Traffic targets sum to 90, want 100: spec.traffic", id="traffic-sum"),
    pytest.param(ksvc(traffic=[{"latestRevision": True, "percent": 100, "tag": "Bad_Tag"}]),
                 "invalid value: Bad_Tag: spec.traffic[0].tag\na tag must be a DNS-1035 label",
                 id="bad-tag"),
    pytest.param(ksvc(traffic=[{"latestRevision": True, "percent": 50, "tag": "a"},
                               {"revisionName": "hello-1", "percent": 50, "tag": "a"}]),
                 "Multiple definitions for 'a': spec.traffic[0].tag, spec.traffic[1].tag",
                 id="duplicate-tag"),
    pytest.param(ksvc(annotations={A + "min-scale": "5", A + "max-scale": "2"}),
                 f"invalid value: 5: spec.template.metadata.annotations[{A}min-scale]\n"
                 "must not exceed max-scale (2)", id="min-over-max"),
    pytest.param(ksvc(annotations={A + "target": "0"}),
                 f"invalid value: 0: spec.template.metadata.annotations[{A}target]\n"
                 "must be at least 0.01", id="target-0"),
    pytest.param(ksvc(containerConcurrency=1001),
                 "expected 0 <= 1001 <= 1000: spec.template.spec.containerConcurrency",
                 id="cc-1001"),
    pytest.param(ksvc(timeoutSeconds=601),
                 "expected 0 <= 601 <= 600: spec.template.spec.timeoutSeconds",
                 id="timeout-601"),
    pytest.param(ksvc(timeoutSeconds=100, responseStartTimeoutSeconds=200),
                 "expected 0 <= 200 <= 100: spec.template.spec.responseStartTimeoutSeconds",
                 id="response-start-over-timeout"),
    pytest.param(ksvc(containers=[{"image": "a", "ports": [{"containerPort": 8080}]},
                                  {"image": "b", "ports": [{"containerPort": 9000}]}]),
                 "more than one container port is set: spec.template.spec.containers[1].ports"
                 "\nonly a single port is allowed across all containers",
                 id="two-containers-with-ports"),
    pytest.param(ksvc(containers=[{"image": "a", "env": [{"name": "K_SERVICE",
                                                          "value": "x"}]}]),
                 "'K_SERVICE' is a reserved environment variable: "
                 "spec.template.spec.containers[0].env[0].name", id="reserved-env"),
    pytest.param(ksvc(containers=[{"image": "a", "ports": [{"containerPort": 8012}]}]),
                 "8012 is a reserved port: "
                 "spec.template.spec.containers[0].ports[0].containerPort\nthe queue-proxy",
                 id="reserved-port"),
    pytest.param(ksvc(annotations={A + "window": "5s"}),
                 f"invalid value: 5s: spec.template.metadata.annotations[{A}window]\n"
                 "must be between 6s and 3600s", id="bad-window-annotation"),
    pytest.param(ksvc(annotations={A + "metric": "cpu"}),
                 f"invalid value: cpu: spec.template.metadata.annotations[{A}metric]\n"
                 "must be one of concurrency, rps", id="kpa-metric"),
    pytest.param(ksvc(annotations={A + "activation-scale": "1"}),
                 f"invalid value: 1: spec.template.metadata.annotations[{A}activation-scale]"
                 "\nmust be at least 2",
                 id="activation-scale-1"),
    pytest.param(ksvc(traffic=[{"configurationName": "other", "percent": 100}]),
                 "must not set the field(s): spec.traffic[0].configurationName",
                 id="ksvc-traffic-configuration"),
    pytest.param(ksvc(traffic=[{"revisionName": "hello-1", "configurationName": "c",
                                "percent": 100}]),
                 "expected exactly one, got both: spec.traffic[0].configurationName, "
                 "spec.traffic[0].revisionName", id="revision-and-configuration"),
    pytest.param(ksvc(traffic=[{"latestRevision": True, "percent": 100,
                                "url": "http://x"}]),
                 "must not set the field(s): spec.traffic[0].url", id="url-in-spec"),
    pytest.param(ksvc(containers=[{"ports": [{"containerPort": 8080}]}]),
                 "missing field(s): spec.template.spec.containers[0].image", id="no-image"),
    pytest.param(ksvc(containers=[{"image": "a", "ports": [{"containerPort": 8080,
                                                             "name": "grpc"}]}]),
                 "invalid value: grpc: spec.template.spec.containers[0].ports[0].name",
                 id="port-name"),
    pytest.param(ksvc(containers=[{"image": "a", "readinessProbe": {
                     "tcpSocket": {}, "failureThreshold": 3}}]),
                 "must not set the field(s): "
                 "spec.template.spec.containers[0].readinessProbe.failureThreshold\n"
                 "not allowed when periodSeconds is 0", id="aggressive-probe"),
    pytest.param(ksvc(containers=[{"image": "a", "ports": [{"containerPort": 8080}],
                                   "readinessProbe": {"httpGet": {"port": 9000}}}]),
                 "invalid value: 9000: "
                 "spec.template.spec.containers[0].readinessProbe.httpGet.port\n"
                 "may only probe the containerPort (8080)", id="probe-port"),
    pytest.param(ksvc(nodeSelector={"a": "b"}),
                 "must not set the field(s): spec.template.spec.nodeSelector\nenable it with "
                 "kubernetes.podspec-nodeselector", id="gated-field"),
    pytest.param(ksvc(containers=[{"image": "a", "volumeMounts": [
                     {"name": "v", "mountPath": "/var/log"}]}],
                      volumes=[{"name": "v", "emptyDir": {}}]),
                 "'/var/log' is a reserved path: "
                 "spec.template.spec.containers[0].volumeMounts[0].mountPath", id="reserved-path"),
    pytest.param(ksvc(containers=[{"image": "a", "lifecycle": {"postStart": {
                     "exec": {"command": ["true"]}}}}]),
                 "must not set the field(s): spec.template.spec.containers[0].lifecycle",
                 id="lifecycle-hook"),
    pytest.param(ksvc(containers=[{"image": "a", "tty": True}]),
                 "must not set the field(s): spec.template.spec.containers[0].tty", id="tty"),
    pytest.param(ksvc(containers=[{"image": "a", "securityContext": {"runAsUser": -10}}]),
                 "expected 0 <= -10 <= 2147483647: "
                 "spec.template.spec.containers[0].securityContext.runAsUser", id="negative-uid"),
    pytest.param(ksvc(serviceAccountName="foo@bar.baz"),
                 "invalid value: foo@bar.baz: spec.template.spec.serviceAccountName\na "
                 "lowercase RFC 1123 subdomain", id="service-account-name"),
])
def test_rejections_name_the_field_and_the_rule(obj: dict, want: str) -> None:
    assert want in errors(obj)


def test_template_name_must_carry_the_parent_prefix() -> None:
    svc = ksvc()
    svc["spec"]["template"]["metadata"]["name"] = "other-v1"
    assert "invalid value: other-v1: spec.template.metadata.name\nmust have prefix " \
        "'hello-'" in errors(svc)


def test_limits_follow_config_maps() -> None:
    cfg = ServingConfig(defaults=parse_defaults({"max-revision-timeout-seconds": "900",
                                                 "container-concurrency-max-limit": "50"}),
                        autoscaler=parse_autoscaler_config({"max-scale-limit": "10",
                                                                     "max-scale": "10"}),
                        features=parse_features({"kubernetes.podspec-nodeselector":
                                                 "enabled"}))
    assert not errors(ksvc(timeoutSeconds=800, nodeSelector={"a": "b"}), cfg)
    assert "expected 0 <= 51 <= 50" in errors(ksvc(containerConcurrency=51), cfg)
    assert "max-scale-limit" in errors(ksvc(annotations={A + "max-scale": "20"}), cfg)


def test_multi_container_needs_one_serving_port() -> None:
    err = errors(ksvc(containers=[{"image": "a"}, {"image": "b"}]))
    assert "missing field(s): spec.template.spec.containers[*].ports" in err
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
    assert str(v1.validate_revision_update(rev, changed)).startswith(
        "Immutable fields changed (-old +new): spec\ncontainers:\n\t-: ")
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
    assert str(v1.validate_service_update(old, new)) == "saw a template change without a " \
        "new revision name ('hello-v1' already exists): spec.template.metadata.name"
    new["spec"]["template"]["metadata"]["name"] = "hello-v2"
    assert not v1.validate_service_update(old, new)


def test_route_traffic_names_a_target() -> None:
    route = {"apiVersion": "serving.knative.dev/v1", "kind": "Route",
             "metadata": {"name": "r", "namespace": "ns"},
             "spec": {"traffic": [{"percent": 100}]}}
    d = v1.set_route_defaults(route)
    assert "expected exactly one, got neither: spec.traffic[0].configurationName, " \
           "spec.traffic[0].revisionName" in str(v1.validate_route(d))
    d["spec"]["traffic"][0]["configurationName"] = "c"
    assert not v1.validate_route(d)


def test_service_name_must_leave_room_for_revision_suffix() -> None:
    svc = ksvc()
    svc["metadata"]["name"] = "a" * 60
    assert f"invalid value: {'a' * 60}: metadata.name" in errors(svc)


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
