"""What the Serving reconcilers create passes the webhook's own validation (the chart sends
every Serving kind through it), from a ksvc defaulted the way the webhook defaults it."""

from __future__ import annotations

from knpy.apis.autoscaling.config import AutoscalerConfig
from knpy.apis.autoscaling.v1alpha1 import validate_podautoscaler
from knpy.apis.networking.v1alpha1 import validate_serverlessservice
from knpy.apis.serving.v1 import (
    Configuration,
    Revision,
    Service,
    set_service_defaults,
    validate_configuration,
    validate_revision,
    validate_route,
)
from knpy.controller.serving.configuration import make_revision
from knpy.controller.serving.revision_children import make_podautoscaler, make_sks
from knpy.controller.serving.service_children import make_configuration, make_route


def ok(err) -> None:
    assert not err, str(err)


def test_children_pass_validation() -> None:
    ksvc = set_service_defaults({
        "apiVersion": "serving.knative.dev/v1", "kind": "Service",
        "metadata": {"name": "hello", "namespace": "ns", "uid": "u1", "generation": 3},
        "spec": {"template": {
            "metadata": {"name": "hello-v3",
                         "annotations": {"autoscaling.knative.dev/target": "10"}},
            "spec": {"containers": [{"image": "img",
                                     "ports": [{"name": "h2c", "containerPort": 8080}]}]}},
            "traffic": [{"tag": "current", "percent": 100, "latestRevision": True}]}})
    cfg = make_configuration(Service(ksvc))
    ok(validate_configuration(cfg))
    ok(validate_route(make_route(Service(ksvc))))
    cfg["metadata"].update(uid="u2", generation=1)
    rev = make_revision(Configuration(cfg), "2026-01-01T00:00:00Z")
    assert rev["metadata"]["name"] == "hello-v3"
    ok(validate_revision(rev))
    rev["metadata"]["uid"] = "u3"
    ok(validate_podautoscaler(make_podautoscaler(Revision(rev))))
    ok(validate_serverlessservice(make_sks(Revision(rev), AutoscalerConfig())))
