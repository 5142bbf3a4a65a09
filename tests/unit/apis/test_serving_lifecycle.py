"""Serving status: Knative's conditions, reasons and the propagation reconcilers rely on."""

from __future__ import annotations

from knpy.apis.autoscaling.v1alpha1 import PodAutoscaler, PodAutoscalerStatus
from knpy.apis.networking.v1alpha1 import ServerlessService
from knpy.apis.serving import v1


def cond(status: dict, type_: str) -> dict:
    return next(c for c in status["conditions"] if c["type"] == type_)


def test_revision_ready_needs_resources_and_health_active_is_informational() -> None:
    rev = v1.Revision({"metadata": {"name": "r"}})
    rev.init_conditions()
    assert {c["type"] for c in rev.status_raw["conditions"]} == {
        "Ready", "ResourcesAvailable", "ContainerHealthy"}
    st = rev.status
    st.propagate_deployment_status({"conditions": [{"type": "Progressing", "status": "True",
                                                    "reason": "NewReplicaSetAvailable"}]})
    st.mark_container_healthy_true()
    assert st.is_ready()
    st.mark_active_false("NoTraffic", "scaled to zero")
    assert st.is_ready() and not st.is_active()  # Ready at zero


def test_deployment_failures_reach_the_revision() -> None:
    st = v1.RevisionStatus({})
    st.propagate_deployment_status({"conditions": [
        {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
         "message": "too slow"}]})
    c = cond(st.raw, "Ready")
    assert (c["status"], c["reason"], c["message"]) == ("False", "ProgressDeadlineExceeded",
                                                        "too slow")
    st = v1.RevisionStatus({})
    st.propagate_deployment_status({"conditions": [
        {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": "q"},
        {"type": "Progressing", "status": "True"}]})
    assert cond(st.raw, "ResourcesAvailable")["reason"] == "FailedCreate"
    st = v1.RevisionStatus({})
    st.propagate_deployment_status({})
    assert cond(st.raw, "ResourcesAvailable")["reason"] == "Deploying"


def test_autoscaler_status_sets_replicas_and_active() -> None:
    pa = PodAutoscalerStatus({"serviceName": "r", "desiredScale": 2, "actualScale": 1})
    pa.mark_active()
    pa.mark_scale_target_initialized()
    pa.mark_sks_ready()
    assert pa.is_ready()
    st = v1.RevisionStatus({})
    st.propagate_autoscaler_status(pa.raw)
    assert (st.desired_replicas, st.actual_replicas) == (2, 1)
    assert st.is_ready() and st.is_active()


def test_never_reaching_initial_scale_fails_the_revision() -> None:
    pa = PodAutoscalerStatus({"serviceName": "r", "desiredScale": 0, "actualScale": 0})
    pa.mark_inactive("NoTraffic", "The target is not receiving traffic.")
    st = v1.RevisionStatus({})
    st.propagate_autoscaler_status(pa.raw)
    assert cond(st.raw, "ResourcesAvailable")["message"] == "Initial scale was never achieved"
    assert cond(st.raw, "Active")["reason"] == "NoTraffic"
    assert not st.is_ready()


def test_configuration_ready_follows_the_latest_created_revision() -> None:
    cfg = v1.Configuration({"metadata": {"name": "c"}})
    cfg.init_conditions()
    st = cfg.status
    st.set_latest_created_revision_name("c-00001")
    st.set_latest_ready_revision_name("c-00001")
    assert st.is_ready()
    st.set_latest_created_revision_name("c-00002")
    assert cond(st.raw, "Ready")["status"] == "Unknown"
    st.mark_latest_created_failed("c-00002", "boom")
    c = cond(st.raw, "Ready")
    assert (c["reason"], c["message"]) == ("RevisionFailed",
                                           "Revision 'c-00002' failed with message: boom.")
    assert st.latest_ready_revision_name == "c-00001"


def test_service_propagates_configuration_and_route() -> None:
    svc = v1.Service({"metadata": {"name": "s"}})
    svc.init_conditions()
    cfg = v1.ConfigurationStatus({})
    cfg.set_latest_created_revision_name("s-00001")
    cfg.set_latest_ready_revision_name("s-00001")
    route = v1.RouteStatus({})
    route.set_url("http://s.ns.example.com", "http://s.ns.svc.cluster.local")
    route.set_traffic([{"revisionName": "s-00001", "percent": 100, "latestRevision": True}])
    route.mark_traffic_assigned()
    route.mark_ingress_not_configured()
    route.mark_tls_not_enabled()
    st = svc.status
    st.propagate_configuration_status(cfg.raw)
    st.propagate_route_status(route.raw)
    assert st.raw["latestReadyRevisionName"] == st.raw["latestCreatedRevisionName"] == "s-00001"
    assert st.url == "http://s.ns.example.com"
    assert st.raw["address"] == {"url": "http://s.ns.svc.cluster.local"}
    assert cond(st.raw, "ConfigurationsReady")["status"] == "True"
    ready = cond(st.raw, "Ready")  # waits for the route, and says why
    assert (ready["status"], ready["reason"]) == ("Unknown", "IngressNotConfigured")
    route.propagate_ingress_status({"conditions": [{"type": "Ready", "status": "True"}]})
    st.propagate_route_status(route.raw)
    assert st.is_ready()


def test_pod_autoscaler_and_sks_views() -> None:
    pa = PodAutoscaler({"metadata": {"name": "r"}, "spec": {"containerConcurrency": 3}})
    pa.init_conditions()
    assert {c["type"] for c in pa.status_raw["conditions"]} == {
        "Ready", "Active", "ScaleTargetInitialized", "SKSReady"}
    assert (pa.autoscaler_class, pa.metric, pa.container_concurrency) == (
        "kpa.autoscaling.knative.dev", "concurrency", 3)
    sks = ServerlessService({"metadata": {"name": "r"}, "spec": {"mode": "Proxy"}})
    sks.init_conditions()
    sks.status.set_service_names("r", "r-private")
    sks.status.mark_activator_endpoints_populated()
    assert sks.mode == "Proxy" and sks.status.proxy_for() and not sks.status.is_ready()
    sks.status.mark_endpoints_ready()
    assert sks.status.is_ready()
