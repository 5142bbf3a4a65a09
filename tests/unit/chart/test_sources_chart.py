"""charts/knpy's sources data plane: the shared PingSource adapter Deployment the controller's
PingSource reconciler waits for (its name, cluster mode, flags the adapter accepts), its
least-privilege RBAC, the sources image for the controller's ApiServerSource adapters, and
Knative Eventing's flags in config-features (helm template, 1.20 and current)."""

from __future__ import annotations

import pytest

from knpy.apis.serving.config_features import parse_features
from knpy.controller.sources.ping import PING_ADAPTER
from knpy.sources.main import parse_args
from tests.unit.chart.test_knpy_chart import HELM, Objects, container, render
from tests.unit.chart.test_serving_dataplane_chart import CURRENT, WRITE, allowed, env

pytestmark = pytest.mark.skipif(not HELM.exists(), reason="helm not installed: make kube-tools")

SA = "knpy-pingsource-adapter"


def adapter_args(objs: Objects) -> list[str]:
    """The container's args as the kubelet would expand them."""
    c = container(objs, "Deployment", PING_ADAPTER)
    assert {"SYSTEM_NAMESPACE", "POD_NAME"} <= set(env(c))
    return [a.replace("$(SYSTEM_NAMESPACE)", "knpy-system").replace("$(POD_NAME)", "pod-0")
            for a in c["args"]]


def lease_rules(objs: Objects) -> list[dict]:
    return [r for (k, n), o in objs.items() if (k, n) == ("Role", SA) for r in o["rules"]]


def test_the_ping_adapter_is_the_deployment_the_pingsource_reconciler_waits_for() -> None:
    objs = render()
    dep = objs[("Deployment", PING_ADAPTER)]
    assert dep["metadata"]["namespace"] == "knpy-system"  # the controller's system namespace
    pod = dep["spec"]["template"]
    assert dep["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    c = pod["spec"]["containers"][0]
    assert c["image"] == "dev.local/knpy/sources:dev"
    # the args the adapter's own parser takes: cluster mode (no --file), leader election
    # on the Lease the Role names, probes and metrics on the declared port
    a = parse_args(adapter_args(objs))
    assert a.adapter == "ping" and a.file is None and not a.no_leader_elect
    assert a.namespace == "knpy-system" and a.identity == "pod-0"
    assert [r["resourceNames"] for r in lease_rules(objs) if "resourceNames" in r] == [
        [a.lease_name]]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"probes": a.probe_port}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "probes"}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "probes"}
    ann = pod["metadata"]["annotations"]
    assert ann["prometheus.io/scrape"] == "true"
    assert ann["prometheus.io/port"] == str(a.probe_port)


def test_the_ping_adapter_runs_locked_down() -> None:
    pod = render()[("Deployment", PING_ADAPTER)]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["serviceAccountName"] == SA
    assert pod["enableServiceLinks"] is False
    c = pod["containers"][0]
    sc = c["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert c["resources"]["requests"]["cpu"] and c["resources"]["limits"]["memory"]
    # a writable /tmp on the read-only root
    assert {"name": "tmp", "mountPath": "/tmp"} in c["volumeMounts"]
    assert {"name": "tmp", "emptyDir": {}} in pod["volumes"]


@pytest.mark.parametrize("args,kube", [((), "1.20.2"), (CURRENT, "1.33.0")])
def test_the_ping_adapter_may_read_pingsources_and_hold_its_lease_only(
        args: tuple[str, ...], kube: str) -> None:
    objs = render(*args, kube=kube)
    for verb in ("get", "list", "watch"):
        assert allowed(objs, SA, "sources.knative.dev", "pingsources", verb, namespace="any")
    assert allowed(objs, SA, "coordination.k8s.io", "leases", "create")
    assert {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
            "resourceNames": ["knpy-pingsource-adapter"], "verbs": ["get", "update"]} in \
        lease_rules(objs)
    # nothing else: the controller writes PingSource status, the adapter only reads
    for verb in WRITE:
        assert not allowed(objs, SA, "sources.knative.dev", "pingsources", verb)
    assert not allowed(objs, SA, "sources.knative.dev", "pingsources/status", "update")
    assert not allowed(objs, SA, "coordination.k8s.io", "leases", "update")  # only its own
    assert not allowed(objs, SA, "coordination.k8s.io", "leases", "create", namespace="other")
    assert not allowed(objs, SA, "", "secrets", "get")
    assert not allowed(objs, SA, "", "configmaps", "get")
    granted = {(g, r) for (k, _), o in objs.items() if k in ("ClusterRole", "Role")
               and o["metadata"]["name"] == SA for rule in o["rules"]
               for g in rule["apiGroups"] for r in rule["resources"]}
    assert granted == {("sources.knative.dev", "pingsources"), ("coordination.k8s.io", "leases")}


def test_values_reach_the_ping_adapter() -> None:
    objs = render("--set", "sources.image.name=my-sources", "--set", "image.tag=v9",
                  "--set", "image.digests.my-sources=sha256:abc",
                  "--set", "sources.pingAdapter.replicas=2",
                  "--set", "sources.pingAdapter.extraArgs={--watch-timeout=60}",
                  "--set", "logLevel=DEBUG")
    pod = objs[("Deployment", PING_ADAPTER)]["spec"]["template"]
    c = pod["spec"]["containers"][0]
    assert c["image"] == "dev.local/knpy/my-sources:v9"
    assert pod["metadata"]["annotations"]["knpy.dev/image-digest"] == "sha256:abc"
    a = parse_args(adapter_args(objs))
    assert a.watch_timeout == 60 and a.log_level == "DEBUG"
    # the controller runs ApiServerSource adapters from the same image
    ctrl = container(objs, "Deployment", "knpy-controller")
    assert env(ctrl)["KNPY_SOURCES_IMAGE"] == "dev.local/knpy/my-sources:v9"
    # standbys: a budget keeps one
    pdb = objs[("PodDisruptionBudget", "knpy-pingsource-adapter")]["spec"]
    assert pdb["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()


def test_without_leader_election_every_replica_sends_and_no_lease_is_granted() -> None:
    objs = render("--set", "sources.pingAdapter.leaderElection=false")
    assert parse_args(adapter_args(objs)).no_leader_elect
    assert ("Role", SA) not in objs and ("RoleBinding", SA) not in objs
    assert not allowed(objs, SA, "coordination.k8s.io", "leases", "create")


def test_the_ping_adapter_comes_and_goes_with_eventing() -> None:
    objs = render("--set", "eventing.enabled=false")
    assert not [k for k in objs if k[1] == SA or k[1] == PING_ADAPTER]
    # the controller still knows where the adapters' image is
    assert env(container(objs, "Deployment", "knpy-controller"))["KNPY_SOURCES_IMAGE"] == \
        "dev.local/knpy/sources:dev"


def test_config_features_carries_eventings_flags_next_to_servings() -> None:
    objs = render("--set", "servingConfig.config-features.multi-container-probing=Enabled",
                  "--set", "servingConfig.config-features.delivery-timeout=disabled")
    data = objs[("ConfigMap", "config-features")]["data"]
    # Knative Eventing v1.17's shipped values, for tools that read them from the system
    # namespace (rekt); the servingConfig value wins on a shared key
    assert data["new-apiserversource-filters"] == "disabled"
    assert data["default-authorization-mode"] == "allow-same-namespace"
    assert data["authentication-oidc"] == "disabled" and data["kreference-group"] == "disabled"
    assert data["delivery-timeout"] == "disabled"
    assert data["multi-container-probing"] == "Enabled"
    # Serving reads the same map, unbothered by Eventing's keys
    assert parse_features(data).enabled("multi-container-probing")
    assert render()[("ConfigMap", "config-features")]["data"]["delivery-timeout"] == "enabled"


@pytest.mark.parametrize("args,kube", [((), "1.20.2"), (CURRENT, "1.33.0")])
def test_the_controller_may_manage_the_children_of_sources(
        args: tuple[str, ...], kube: str) -> None:
    """A ContainerSource's children are a Deployment and a SinkBinding, an ApiServerSource's
    a Deployment, in the source's namespace: created, kept in shape and removed (rekt's
    TestChannelChain found the SinkBinding's create forbidden)."""
    objs = render(*args, kube=kube)
    for group, resource in (("apps", "deployments"), ("sources.knative.dev", "sinkbindings")):
        for verb in ("get", "list", "watch", *WRITE):
            assert allowed(objs, "knpy-controller", group, resource, verb,
                           namespace="users-ns"), (resource, verb)
