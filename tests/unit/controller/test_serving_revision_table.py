"""Table tests for the Revision reconciler: the Deployment (user container + queue-proxy
sidecar, spelled out field by field), the ServerlessService and the PodAutoscaler it
creates, and the Revision status it derives from them."""

from __future__ import annotations

import copy
import json

import pytest

from knpy.apis.autoscaling.config import AutoscalerConfig
from knpy.apis.serving.config_deployment import DeploymentConfig
from knpy.apis.serving.config_features import parse_features
from knpy.apis.serving.config_observability import ObservabilityConfig, parse_observability_config
from knpy.apis.serving.v1 import Revision
from knpy.apis.serving.v1.register import (
    CONFIGURATION_GENERATION_LABEL,
    CONFIGURATION_LABEL,
    ROUTING_STATE_LABEL,
    SERVICE_LABEL,
)
from knpy.controller.serving.deployment import Announce, make_deployment
from knpy.controller.serving.resources import (
    DEPLOYMENTS,
    PODAUTOSCALERS,
    PODS,
    REVISIONS,
    SERVERLESSSERVICES,
    SPEC_HASH_ANNOTATION,
)
from knpy.controller.serving.revision import RevisionReconciler
from knpy.controller.serving.revision_children import make_podautoscaler, make_sks
from knpy.runtime.contract import announce
from knpy.runtime.k8s import Lister
from knpy.runtime.k8s.naming import spec_hash
from knpy.runtime.k8s.testing import Row, World, run_row

QP = "dev.local/knpy/queue-proxy:dev"
DCFG = DeploymentConfig(queue_sidecar_image=QP)
ACFG = AutoscalerConfig()
OWNER = {"apiVersion": "serving.knative.dev/v1", "kind": "Revision", "name": "hello-00001",
         "uid": "rev-uid", "controller": True, "blockOwnerDeletion": True}
USER = {"name": "user-container", "image": "img:1",
        "ports": [{"name": "http1", "containerPort": 8080}],
        "env": [{"name": "TARGET", "value": "World"}],
        "readinessProbe": {"tcpSocket": {"port": 0}, "successThreshold": 1}}
SPEC = {"containerConcurrency": 0, "timeoutSeconds": 300, "enableServiceLinks": False,
        "containers": [USER]}


def conds(**statuses: str | tuple[str, str, str]) -> list[dict]:
    """Conditions sorted by type: "True", or (status, reason, message); no empty message."""
    return [{"type": t, "status": v} if isinstance(v, str) else
            {"type": t, "status": v[0], "reason": v[1], **({"message": v[2]} if v[2] else {})}
            for t, v in sorted(statuses.items())]


def revision(*, spec: dict | None = None, ann: dict | None = None,
             status: dict | None = None) -> dict:
    o = {"apiVersion": "serving.knative.dev/v1", "kind": "Revision",
         "metadata": {"name": "hello-00001", "namespace": "ns", "uid": "rev-uid",
                      "generation": 1, "annotations": ann or {},
                      "labels": {CONFIGURATION_LABEL: "hello", SERVICE_LABEL: "hello",
                                 CONFIGURATION_GENERATION_LABEL: "1",
                                 ROUTING_STATE_LABEL: "pending"}},
         "spec": copy.deepcopy(spec or SPEC)}
    if status is not None:
        o["status"] = status
    return o


LABELS = {CONFIGURATION_LABEL: "hello", SERVICE_LABEL: "hello",
          CONFIGURATION_GENERATION_LABEL: "1", "serving.knative.dev/revision": "hello-00001",
          "serving.knative.dev/revisionUID": "rev-uid", "app": "hello-00001"}


def expected_deployment(ann: dict | None = None) -> dict:
    """Every field of the basic revision's Deployment, written out by hand (the Revision's
    annotations, if any, on it and its pods)."""
    spec = {
        "selector": {"matchLabels": {"serving.knative.dev/revisionUID": "rev-uid"}},
        "progressDeadlineSeconds": 600,
        "strategy": {"type": "RollingUpdate",
                     "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "100%"}},
        "template": {"metadata": {"labels": LABELS, "annotations": {**(ann or {})}}, "spec": {
            "enableServiceLinks": False,
            "terminationGracePeriodSeconds": 300,
            "containers": [{
                "name": "user-container", "image": "img:1",
                "ports": [{"name": "user-port", "containerPort": 8080, "protocol": "TCP"}],
                "env": [{"name": "TARGET", "value": "World"}, {"name": "PORT", "value": "8080"},
                        {"name": "K_REVISION", "value": "hello-00001"},
                        {"name": "K_CONFIGURATION", "value": "hello"},
                        {"name": "K_SERVICE", "value": "hello"}],
                "lifecycle": {"preStop": {"httpGet": {"port": 8022,
                                                      "path": "/wait-for-drain"}}},
                "stdin": False, "tty": False,
                "terminationMessagePolicy": "FallbackToLogsOnError",
            }, {
                "name": "queue-proxy", "image": QP,
                "ports": [{"name": "http-queueadm", "containerPort": 8022},
                          {"name": "http-autometric", "containerPort": 9090},
                          {"name": "http-usermetric", "containerPort": 9091},
                          {"name": "queue-port", "containerPort": 8012},
                          {"name": "https-port", "containerPort": 8112}],
                "env": [
                    {"name": "SERVING_NAMESPACE", "value": "ns"},
                    {"name": "SERVING_SERVICE", "value": "hello"},
                    {"name": "SERVING_CONFIGURATION", "value": "hello"},
                    {"name": "SERVING_REVISION", "value": "hello-00001"},
                    {"name": "QUEUE_SERVING_PORT", "value": "8012"},
                    {"name": "QUEUE_SERVING_TLS_PORT", "value": "8112"},
                    {"name": "CONTAINER_CONCURRENCY", "value": "0"},
                    {"name": "REVISION_TIMEOUT_SECONDS", "value": "300"},
                    {"name": "REVISION_RESPONSE_START_TIMEOUT_SECONDS", "value": "0"},
                    {"name": "REVISION_IDLE_TIMEOUT_SECONDS", "value": "0"},
                    {"name": "SERVING_POD",
                     "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                    {"name": "SERVING_POD_IP",
                     "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                    {"name": "USER_PORT", "value": "8080"},
                    {"name": "SERVING_READINESS_PROBE",
                     "value": '{"successThreshold":1,"tcpSocket":{"host":"127.0.0.1",'
                              '"port":8080}}'},
                ],
                "resources": {"requests": {"cpu": "25m"}},
                "readinessProbe": {"httpGet": {"port": 8012, "httpHeaders": [
                    {"name": "K-Network-Probe", "value": "queue"}]}, "periodSeconds": 1},
                "securityContext": {"allowPrivilegeEscalation": False,
                                    "readOnlyRootFilesystem": True, "runAsNonRoot": True,
                                    "capabilities": {"drop": ["ALL"]},
                                    "seccompProfile": {"type": "RuntimeDefault"}},
            }]}},
    }
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "hello-00001-deployment", "namespace": "ns",
                         "labels": LABELS,
                         "annotations": {**(ann or {}), SPEC_HASH_ANNOTATION: spec_hash(spec)},
                         "ownerReferences": [OWNER]},
            "spec": {"replicas": 1, **spec}}


def child_meta(spec: dict, ann: dict | None = None, hashed: object = None) -> dict:
    return {"name": "hello-00001", "namespace": "ns", "labels": LABELS,
            "annotations": {**(ann or {}), SPEC_HASH_ANNOTATION: spec_hash(
                spec if hashed is None else hashed)},
            "ownerReferences": [OWNER]}


def expected_sks() -> dict:
    spec = {"mode": "Proxy", "numActivators": 3, "protocolType": "http1",
            "objectRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                          "name": "hello-00001-deployment"}}
    return {"apiVersion": "networking.internal.knative.dev/v1alpha1",
            "kind": "ServerlessService", "metadata": child_meta(spec), "spec": spec}


def expected_pa(reachability: str = "", ann: dict | None = None) -> dict:
    """The PA's hash covers the Revision's annotations too: they are its settings."""
    spec = {"containerConcurrency": 0,
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                               "name": "hello-00001-deployment"},
            "protocolType": "http1", "reachability": reachability}
    return {"apiVersion": "autoscaling.internal.knative.dev/v1alpha1", "kind": "PodAutoscaler",
            "metadata": child_meta(spec, ann, {"spec": spec, "annotations": ann or {}}),
            "spec": spec}


MIN_SCALE = "autoscaling.knative.dev/min-scale"
MAX_SCALE = "autoscaling.knative.dev/max-scale"


def factory(dcfg: DeploymentConfig = DCFG):
    def make(world: World) -> RevisionReconciler:
        def lst(res):
            return world.listers.setdefault(res.plural, Lister(res))
        return RevisionReconciler(world.client, lst(REVISIONS), world.recorder,
                                  deployments=lst(DEPLOYMENTS), podautoscalers=lst(PODAUTOSCALERS),
                                  serverlessservices=lst(SERVERLESSSERVICES),
                                  config=lambda: (dcfg, ACFG, parse_features({}),
                                                  ObservabilityConfig()))
    return make


def with_status(obj: dict, status: dict) -> dict:
    return {**copy.deepcopy(obj), "status": status}


DEPLOYING = ("Unknown", "Deploying", "")
PROGRESSING = {"conditions": [{"type": "Progressing", "status": "True",
                               "reason": "NewReplicaSetAvailable"},
                              {"type": "Available", "status": "True"}],
               "replicas": 1, "readyReplicas": 1, "availableReplicas": 1}



UNKNOWN_DEPLOYING = {"observedGeneration": 1, "conditions": [
    {"type": "Active", "status": "Unknown", "reason": "Deploying"},
    {"type": "ContainerHealthy", "status": "Unknown"},
    {"type": "Ready", "status": "Unknown", "reason": "Deploying"},
    {"type": "ResourcesAvailable", "status": "Unknown", "reason": "Deploying"}]}
READY = {"observedGeneration": 1, "conditions": [
    {"type": "Active", "status": "Unknown", "reason": "Deploying"},
    {"type": "ContainerHealthy", "status": "True"}, {"type": "Ready", "status": "True"},
    {"type": "ResourcesAvailable", "status": "True"}]}
PA_READY = {"serviceName": "hello-00001", "actualScale": 1, "desiredScale": 1,
            "conditions": [{"type": "Active", "status": "True"},
                           {"type": "Ready", "status": "True"},
                           {"type": "SKSReady", "status": "True"},
                           {"type": "ScaleTargetInitialized", "status": "True"}]}


def owned_children(dep_status: dict | None = None, replicas: int = 1,
                   pa_status: dict | None = None, stale: bool = False,
                   sks_status: dict | None = None, pa_ann: dict | None = None) -> list:
    dep = expected_deployment()
    dep["spec"]["replicas"] = replicas
    if stale:
        dep["metadata"]["annotations"][SPEC_HASH_ANNOTATION] = "old"
        dep["spec"]["template"]["spec"]["containers"][1]["image"] = "old-qp"
    if dep_status is not None:
        dep["status"] = dep_status
    pa = expected_pa(ann=pa_ann)
    if pa_status is not None:
        pa["status"] = pa_status
    sks = expected_sks()
    if sks_status is not None:
        sks["status"] = sks_status
    return [(DEPLOYMENTS, dep), (SERVERLESSSERVICES, sks), (PODAUTOSCALERS, pa)]


def not_owned_deployment() -> dict:
    d = expected_deployment()
    d["metadata"]["ownerReferences"] = []
    return d


NOT_OWNED = ("False", "NotOwned",
             "There is an existing Deployment 'hello-00001-deployment' that we do not own.")
ROWS = [
    Row("new Revision: Deployment with the queue-proxy, SKS and PA created; Deploying",
        key="ns/hello-00001", objects=[(REVISIONS, revision())],
        want_creates=[expected_deployment(), expected_sks(), expected_pa()],
        want_status_updates=[with_status(revision(), UNKNOWN_DEPLOYING)]),
    Row("Deployment progressing with a ready pod: Ready, RevisionReady event",
        key="ns/hello-00001", objects=[(REVISIONS, revision()), *owned_children(PROGRESSING)],
        want_status_updates=[with_status(revision(), READY)],
        want_events=["Normal RevisionReady Revision becomes ready upon all resources being "
                     "ready"]),
    Row("the PodAutoscaler's status: replicas and Active",
        key="ns/hello-00001", objects=[(REVISIONS, revision(status=READY)),
                                       *owned_children(PROGRESSING, pa_status=PA_READY)],
        want_status_updates=[with_status(revision(), {
            **READY, "actualReplicas": 1, "desiredReplicas": 1,
            "conditions": [{"type": "Active", "status": "True"}, *READY["conditions"][1:]]})]),
    # Knative's RevisionStatus has no serviceName, nor has the CRD: the server dropped it
    # and every reconcile wrote it again.
    Row("an SKS with its Services named: nothing new for the Revision's status",
        key="ns/hello-00001", objects=[(REVISIONS, revision(status=READY)), *owned_children(
            PROGRESSING, sks_status={"serviceName": "hello-00001",
                                     "privateServiceName": "hello-00001-private"})]),
    Row("Deployment past its progress deadline: ResourcesAvailable False, PA Unreachable",
        key="ns/hello-00001", objects=[(REVISIONS, revision()), *owned_children({
            "conditions": [{"type": "Progressing", "status": "False",
                            "reason": "ProgressDeadlineExceeded",
                            "message": "ReplicaSet has timed out progressing."}]})],
        want_updates=[expected_pa("Unreachable")],
        want_status_updates=[with_status(revision(), {"observedGeneration": 1, "conditions": [
            {"type": "Active", "status": "Unknown", "reason": "Deploying"},
            {"type": "ContainerHealthy", "status": "Unknown"},
            {"type": "Ready", "status": "False", "reason": "ProgressDeadlineExceeded",
             "message": "ReplicaSet has timed out progressing."},
            {"type": "ResourcesAvailable", "status": "False",
             "reason": "ProgressDeadlineExceeded",
             "message": "ReplicaSet has timed out progressing."}]})]),
    Row("a drifted Deployment is updated, keeping the autoscaler's replica count",
        key="ns/hello-00001", objects=[(REVISIONS, revision(status=READY)),
                                       *owned_children(PROGRESSING, replicas=3, stale=True)],
        want_updates=[with_status({**expected_deployment(), "spec": {
            **expected_deployment()["spec"], "replicas": 3}}, PROGRESSING)]),
    Row("a Revision's changed annotations reach its PA, a removed one goes from it",
        key="ns/hello-00001",
        objects=[(REVISIONS, revision(ann={MIN_SCALE: "1"}, status=READY)),
                 *owned_children(PROGRESSING, pa_ann={MIN_SCALE: "3", MAX_SCALE: "5"})],
        # the pods carry the annotations too, so the Deployment rolls, as Knative's does
        want_updates=[with_status(expected_deployment({MIN_SCALE: "1"}), PROGRESSING),
                      expected_pa(ann={MIN_SCALE: "1"})]),
    Row("a Deployment of that name it does not own: NotOwned, nothing written",
        key="ns/hello-00001", objects=[(REVISIONS, revision()),
                                       (DEPLOYMENTS, not_owned_deployment())],
        want_status_updates=[with_status(revision(), {"observedGeneration": 1, "conditions":
                                                      conds(ContainerHealthy="Unknown",
                                                            Ready=NOT_OWNED,
                                                            ResourcesAvailable=NOT_OWNED)})]),
    Row("no queue-sidecar-image in config-deployment: ResourcesAvailable False",
        key="ns/hello-00001", objects=[(REVISIONS, revision())],
        want_status_updates=[with_status(revision(), {"observedGeneration": 1, "conditions":
            conds(ContainerHealthy="Unknown", **{k: (
                "False", "QueueSidecarImageMissing",
                "config-deployment has no queue-sidecar-image: the queue-proxy cannot run")
                for k in ("Ready", "ResourcesAvailable")})})]),
]


def pod(**status) -> tuple:
    return (PODS, {"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": "hello-00001-deployment-abc", "namespace": "ns", "labels": LABELS},
        "status": status})


STARTING = {"conditions": [{"type": "Progressing", "status": "True",
                            "reason": "ReplicaSetUpdated"}], "replicas": 1,
            "unavailableReplicas": 1}
DEADLINE = {"conditions": [{"type": "Progressing", "status": "False",
                            "reason": "ProgressDeadlineExceeded", "message": "timed out"}],
            "replicas": 1, "unavailableReplicas": 1}
QP_OK = {"name": "queue-proxy", "state": {"running": {}}}
CRASHED = ("False", "ExitCode1", "boom")
UNSCHEDULABLE = ("False", "Unschedulable", "0/1 nodes are available")
PULL = ("False", "ImagePullBackOff", "Back-off pulling image")
ROWS += [
    Row("no replica available and the user container exited: ContainerHealthy ExitCode1",
        key="ns/hello-00001", objects=[(REVISIONS, revision()), *owned_children(STARTING),
                                       pod(containerStatuses=[QP_OK, {
                                           "name": "user-container",
                                           "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                                           "lastState": {"terminated": {
                                               "exitCode": 1, "message": "boom"}}}])],
        want_status_updates=[with_status(revision(), {"observedGeneration": 1, "conditions": [
            {"type": "Active", "status": "Unknown", "reason": "Deploying"},
            {"type": "ContainerHealthy", "status": "False", "reason": "ExitCode1",
             "message": "boom"},
            {"type": "Ready", "status": "False", "reason": "ExitCode1", "message": "boom"},
            {"type": "ResourcesAvailable", "status": "True"}]})]),
    Row("a pod that cannot be scheduled: ResourcesAvailable False Unschedulable",
        key="ns/hello-00001", objects=[(REVISIONS, revision()), *owned_children(STARTING),
                                       pod(conditions=[{
                                           "type": "PodScheduled", "status": "False",
                                           "reason": "Unschedulable",
                                           "message": "0/1 nodes are available"}])],
        want_updates=[expected_pa("Unreachable")],
        want_status_updates=[with_status(revision(), {"observedGeneration": 1, "conditions":
            conds(Active=DEPLOYING, ContainerHealthy="Unknown", Ready=UNSCHEDULABLE,
                  ResourcesAvailable=UNSCHEDULABLE)})]),
    Row("an image that never pulls, past the progress deadline: its waiting reason",
        key="ns/hello-00001", objects=[(REVISIONS, revision()), *owned_children(DEADLINE),
                                       pod(containerStatuses=[QP_OK, {
                                           "name": "user-container", "state": {"waiting": {
                                               "reason": "ImagePullBackOff",
                                               "message": "Back-off pulling image"}}}])],
        want_updates=[expected_pa("Unreachable")],
        want_status_updates=[with_status(revision(), {"observedGeneration": 1, "conditions":
            conds(Active=DEPLOYING, ContainerHealthy="Unknown", Ready=PULL,
                  ResourcesAvailable=PULL)})]),
]


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.name)
async def test_revision(row: Row) -> None:
    dcfg = DeploymentConfig() if "queue-sidecar-image" in row.name else DCFG
    await run_row(row, factory(dcfg))


# ------------------------------------------------------------------ builders
def containers(rev: dict, features: str = "Enabled") -> list[dict]:
    d = make_deployment(Revision(rev), DCFG, ACFG,
                        parse_features({"kubernetes.podspec-emptydir": features}))
    return d["spec"]["template"]["spec"]["containers"]


def env(c: dict) -> dict:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in c.get("env") or []}


def test_h2c_http_probe_timeouts_and_concurrency_reach_the_queue_proxy() -> None:
    user = {"name": "u", "image": "i", "ports": [{"name": "h2c", "containerPort": 9000}],
            "readinessProbe": {"httpGet": {"path": "/ready", "port": 9000},
                               "periodSeconds": 5}}
    rev = revision(spec={"containerConcurrency": 7, "timeoutSeconds": 100,
                         "responseStartTimeoutSeconds": 20, "idleTimeoutSeconds": 30,
                         "containers": [user]})
    u, q = containers(rev)
    assert "readinessProbe" not in u, "the queue-proxy runs the user's HTTP probe"
    assert u["ports"] == [{"name": "user-port", "containerPort": 9000, "protocol": "TCP"}]
    assert env(u)["PORT"] == "9000"
    e = env(q)
    assert (e["QUEUE_SERVING_PORT"], e["USER_PORT"], e["CONTAINER_CONCURRENCY"]) == \
        ("8013", "9000", "7")
    assert (e["REVISION_TIMEOUT_SECONDS"], e["REVISION_RESPONSE_START_TIMEOUT_SECONDS"],
            e["REVISION_IDLE_TIMEOUT_SECONDS"]) == ("100", "20", "30")
    assert json.loads(e["SERVING_READINESS_PROBE"]) == {
        "httpGet": {"path": "/ready", "port": 9000, "host": "127.0.0.1", "scheme": "HTTP"},
        "periodSeconds": 5, "timeoutSeconds": 1}
    assert q["readinessProbe"] == {"httpGet": {"port": 8013, "httpHeaders": [
        {"name": "K-Network-Probe", "value": "queue"}]}, "periodSeconds": 5}
    d = make_deployment(Revision(rev), DCFG, ACFG, parse_features({}))
    assert d["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 100
    pa = make_podautoscaler(Revision(rev))
    assert (pa["spec"]["protocolType"], pa["spec"]["containerConcurrency"]) == ("h2c", 7)


def test_exec_probe_stays_with_the_kubelet_and_the_queue_proxy_checks_tcp() -> None:
    user = {**USER, "readinessProbe": {"exec": {"command": ["ok"]}}}
    u, q = containers(revision(spec={**SPEC, "containers": [user]}))
    assert u["readinessProbe"] == {"exec": {"command": ["ok"]}}
    assert json.loads(env(q)["SERVING_READINESS_PROBE"]) == {
        "tcpSocket": {"host": "127.0.0.1", "port": 8080}}


def test_sidecars_get_the_knative_env_but_not_the_port() -> None:
    side = {"name": "side", "image": "s", "env": [{"name": "A", "value": "1"}]}
    u, s, q = containers(revision(spec={**SPEC, "containers": [USER, side]}))
    assert "ports" not in s and "PORT" not in env(s)
    assert env(s) == {"A": "1", "K_REVISION": "hello-00001", "K_CONFIGURATION": "hello",
                      "K_SERVICE": "hello"}
    assert q["name"] == "queue-proxy" and env(u)["PORT"] == "8080"


def test_emptydir_volumes_only_when_the_feature_is_on() -> None:
    user = {**USER, "volumeMounts": [{"name": "scratch", "mountPath": "/data"}]}
    rev = revision(spec={**SPEC, "containers": [user],
                         "volumes": [{"name": "scratch", "emptyDir": {}}]})
    on = make_deployment(Revision(rev), DCFG, ACFG, parse_features({}))["spec"]["template"]
    assert on["spec"]["volumes"] == [{"name": "scratch", "emptyDir": {}}]
    assert on["spec"]["containers"][0]["volumeMounts"] == [{"name": "scratch",
                                                            "mountPath": "/data"}]
    off = make_deployment(Revision(rev), DCFG, ACFG, parse_features(
        {"kubernetes.podspec-emptydir": "Disabled"}))["spec"]["template"]
    assert off["spec"]["volumes"] == []
    assert off["spec"]["containers"][0]["volumeMounts"] == []


def test_tracing_settings_reach_the_queue_proxy_only_when_tracing_is_on() -> None:
    def queue_env(data: dict[str, str]) -> dict:
        d = make_deployment(Revision(revision()), DCFG, ACFG, parse_features({}),
                            parse_observability_config(data))
        return env(d["spec"]["template"]["spec"]["containers"][-1])

    on = queue_env({"tracing-protocol": "http/protobuf", "tracing-sampling-rate": "0.25",
                    "tracing-endpoint": "http://otel.obs:4318/v1/traces",
                    "metrics-protocol": "prometheus"})
    assert json.loads(on["OBSERVABILITY_CONFIG"]) == {
        "tracing-protocol": "http/protobuf", "tracing-endpoint": "http://otel.obs:4318/v1/traces",
        "tracing-sampling-rate": "0.25"}
    # off: no variable, so the Deployment (and its spec hash) is what it was before
    assert "OBSERVABILITY_CONFIG" not in queue_env({})
    assert make_deployment(Revision(revision()), DCFG, ACFG, parse_features({}),
                           parse_observability_config({})) == \
        make_deployment(Revision(revision()), DCFG, ACFG, parse_features({}))


def test_the_queue_proxy_gets_its_revisions_announce_token() -> None:
    rev = Revision(revision())
    plain = make_deployment(rev, DCFG, ACFG, parse_features({}))
    ann = Announce("activator-announce.knpy-system.svc.cluster.local:8014", b"key")
    dep = make_deployment(rev, DCFG, ACFG, parse_features({}), announce=ann)
    qp = next(c for c in dep["spec"]["template"]["spec"]["containers"]
              if c["name"] == "queue-proxy")
    env = {e["name"]: e.get("value") for e in qp["env"]}
    assert env["ACTIVATOR_ANNOUNCE_ADDRESS"] == ann.address
    tok = env["QUEUE_ANNOUNCE_TOKEN"]
    assert announce.verify(b"key", rev.namespace, rev.name, tok.encode())
    # the user's containers never see it
    for c in dep["spec"]["template"]["spec"]["containers"]:
        if c["name"] != "queue-proxy":
            assert tok not in json.dumps(c)
    # off (no key): the Deployment is what it was before announcements existed
    assert "QUEUE_ANNOUNCE_TOKEN" not in json.dumps(plain)


def test_initial_scale_from_config_and_annotation() -> None:
    assert make_deployment(Revision(revision()), DCFG, AutoscalerConfig(initial_scale=2),
                           parse_features({}))["spec"]["replicas"] == 2
    rev = revision(ann={"autoscaling.knative.dev/initial-scale": "4"})
    assert make_deployment(Revision(rev), DCFG, ACFG, parse_features({}))["spec"][
        "replicas"] == 4


@pytest.mark.parametrize(("tbc", "mode", "n"), [("211", "Proxy", 3), ("0", "Serve", 2),
                                                ("-1", "Proxy", 0), ("450", "Proxy", 5)])
def test_sks_mode_and_activators_follow_the_burst_capacity(tbc: str, mode: str, n: int) -> None:
    rev = revision(ann={"autoscaling.knative.dev/target-burst-capacity": tbc})
    spec = make_sks(Revision(rev), ACFG)["spec"]
    assert (spec["mode"], spec["numActivators"]) == (mode, n)


@pytest.mark.parametrize(("state", "want"), [("active", "Reachable"),
                                             ("reserve", "Unreachable"), ("pending", "")])
def test_pa_reachability_from_the_routing_state(state: str, want: str) -> None:
    rev = revision()
    rev["metadata"]["labels"][ROUTING_STATE_LABEL] = state
    assert make_podautoscaler(Revision(rev))["spec"]["reachability"] == want


def test_the_queue_proxy_reads_back_what_the_deployment_sets() -> None:
    """The sidecar's env parses with the queue-proxy's own reader (knpy.queue_proxy.config),
    downward-API values filled in as the kubelet would."""
    from knpy.queue_proxy.config import from_env

    user = {"name": "u", "image": "i", "ports": [{"name": "h2c", "containerPort": 9000}],
            "readinessProbe": {"httpGet": {"path": "/healthz", "port": 9000,
                                           "httpHeaders": [{"name": "X", "value": "y"}]},
                               "periodSeconds": 3}}
    rev = revision(spec={"containerConcurrency": 5, "timeoutSeconds": 120,
                         "responseStartTimeoutSeconds": 60, "containers": [user]})
    q = containers(rev)[-1]
    downward = {"metadata.name": "hello-00001-deployment-abc", "status.podIP": "10.0.0.7"}
    env = {e["name"]: e["value"] if "value" in e else
           downward[e["valueFrom"]["fieldRef"]["fieldPath"]] for e in q["env"]}
    cfg = from_env(env)
    assert (cfg.serving_port, cfg.user_port, cfg.container_concurrency) == (8013, 9000, 5)
    assert (cfg.revision_timeout, cfg.response_start_timeout, cfg.idle_timeout) == (120, 60, 0)
    assert (cfg.namespace, cfg.service, cfg.configuration, cfg.revision) == (
        "ns", "hello", "hello", "hello-00001")
    assert (cfg.pod, cfg.pod_ip) == ("hello-00001-deployment-abc", "10.0.0.7")
    p = cfg.readiness
    assert (p.kind, p.host, p.port, p.path, p.headers, p.period) == (
        "http", "127.0.0.1", 9000, "/healthz", (("X", "y"),), 3)
