"""Serving's webhook on the local cluster (issue 10, acceptance 7): each rejection the issue
lists, through `kubectl apply`, names the offending field and the rule in kubectl's error.

`--dry-run=server` runs the full admission chain (defaulting, then validation) without
storing anything, so the cases are independent and fast."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.e2e.stack.conftest import Eventing
from tests.e2e.stack.serving import ksvc, serving_namespace
from tests.support.cluster import image_ref

Obj = dict[str, Any]


def manifest(edit: Callable[[Obj], None]) -> str:
    """A valid Service changed by `edit` (given the whole object)."""
    o: Obj = json.loads(ksvc("rejected", {}))
    edit(o)
    return json.dumps(o)


def annotate(**kv: str) -> Callable[[Obj], None]:
    return lambda o: o["spec"]["template"]["metadata"]["annotations"].update(
        {f"autoscaling.knative.dev/{k.replace('_', '-')}": v for k, v in kv.items()})


def spec(**kv: Any) -> Callable[[Obj], None]:
    return lambda o: o["spec"]["template"]["spec"].update(kv)


def container(**kv: Any) -> Callable[[Obj], None]:
    return lambda o: o["spec"]["template"]["spec"]["containers"][0].update(kv)


def traffic(*targets: Obj) -> Callable[[Obj], None]:
    return lambda o: o["spec"].update(traffic=list(targets))


def second_container_with_port(o: Obj) -> None:
    o["spec"]["template"]["spec"]["containers"].append(
        {"name": "sidecar", "image": image_ref("helloworld"),
         "ports": [{"containerPort": 8081}]})


# (edit, what kubectl's error must contain: the field path and the rule)
REJECTIONS = {
    "traffic-sum-not-100": (
        traffic({"latestRevision": True, "percent": 50},
                {"revisionName": "rejected-00001", "percent": 40}),
        ["spec.traffic", "sum to 90, want 100"]),
    "bad-tag": (
        traffic({"latestRevision": True, "percent": 100, "tag": "Bad_Tag"}),
        ["spec.traffic[0].tag", "Bad_Tag", "DNS-1035 label"]),
    "min-scale-above-max-scale": (
        annotate(min_scale="5", max_scale="2"),
        ["spec.template.metadata.annotations[autoscaling.knative.dev/min-scale]",
         "must not exceed max-scale (2)"]),
    "target-0": (
        annotate(target="0"),
        ["spec.template.metadata.annotations[autoscaling.knative.dev/target]",
         "must be at least 0.01"]),
    "containerConcurrency-1001": (
        spec(containerConcurrency=1001),
        ["expected 0 <= 1001 <= 1000: spec.template.spec.containerConcurrency"]),
    "timeoutSeconds-601": (
        spec(timeoutSeconds=601),
        ["expected 0 <= 601 <= 600: spec.template.spec.timeoutSeconds"]),
    "responseStartTimeoutSeconds-above-timeoutSeconds": (
        spec(timeoutSeconds=30, responseStartTimeoutSeconds=60),
        ["expected 0 <= 60 <= 30: spec.template.spec.responseStartTimeoutSeconds"]),
    "two-containers-with-ports": (
        second_container_with_port,
        ["spec.template.spec.containers[1].ports", "only a single port is allowed"]),
    "reserved-env-var": (
        container(env=[{"name": "K_SERVICE", "value": "x"}]),
        ["spec.template.spec.containers[0].env[0].name",
         "'K_SERVICE' is a reserved environment variable"]),
    "reserved-port": (
        container(ports=[{"containerPort": 8012}]),
        ["spec.template.spec.containers[0].ports[0].containerPort",
         "8012 is a reserved port"]),
    "serviceAccountName-not-a-subdomain": (  # Knative's TestServiceAccountValidation
        spec(serviceAccountName="foo@bar.baz"),
        ["invalid value: foo@bar.baz: spec.template.spec.serviceAccountName",
         "a lowercase RFC 1123 subdomain must consist of"]),
    "invalid-annotation-value": (
        annotate(window="bogus"),
        ["spec.template.metadata.annotations[autoscaling.knative.dev/window]",
         "not a duration"]),
}


@pytest.fixture(scope="module")
def webhook_ns(knpy_stack: Eventing) -> Iterator[str]:
    with serving_namespace(knpy_stack, "wh") as ns:
        yield ns


def test_a_valid_service_is_admitted(knpy_stack: Eventing, webhook_ns: str) -> None:
    """The baseline every rejection below edits passes admission (else they prove nothing)."""
    p = knpy_stack.cluster.kubectl("apply", "--dry-run=server", "-n", webhook_ns, "-f", "-",
                                   input=manifest(lambda o: None), check=False)
    assert p.returncode == 0, p.stderr


@pytest.mark.parametrize(("edit", "expected"), REJECTIONS.values(), ids=REJECTIONS.keys())
def test_kubectl_apply_is_rejected_with_the_field_path(
        knpy_stack: Eventing, webhook_ns: str, edit: Callable[[Obj], None],
        expected: list[str]) -> None:
    p = knpy_stack.cluster.kubectl("apply", "--dry-run=server", "-n", webhook_ns, "-f", "-",
                                   input=manifest(edit), check=False)
    assert p.returncode != 0, f"admitted:\n{p.stdout}"
    assert "admission webhook" in p.stderr and "denied the request" in p.stderr, p.stderr
    for part in expected:
        assert part in p.stderr, f"{part!r} not in kubectl's error:\n{p.stderr}"
