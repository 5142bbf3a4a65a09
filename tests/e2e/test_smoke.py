"""e2e smoke: the local cluster runs a Deployment from a locally built image, serves it
through a ClusterIP and cluster DNS, installs a Helm chart, and comes down cleanly."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cluster import (
    CLUSTER_DIR,
    HACK,
    KubeCluster,
    KubeError,
    image_ref,
    run_hack,
    stop_cluster,
)
from tests.support.cluster_host import HostState

CHART = Path(__file__).parent / "charts" / "knpy-smoke"

HELLO = """
apiVersion: apps/v1
kind: Deployment
metadata: {{name: hello}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: hello}}}}
  template:
    metadata: {{labels: {{app: hello}}}}
    spec:
      containers:
      - name: app
        image: {image}
        imagePullPolicy: Never
        env: [{{name: TARGET, value: knpy}}]
        ports: [{{containerPort: 8080}}]
        readinessProbe: {{httpGet: {{path: /, port: 8080}}, periodSeconds: 1}}
---
apiVersion: v1
kind: Service
metadata: {{name: hello}}
spec:
  selector: {{app: hello}}
  ports: [{{port: 80, targetPort: 8080}}]
"""


@pytest.fixture(scope="module")
def ns(kube_cluster: KubeCluster) -> Iterator[str]:
    name = f"smoke-{uuid.uuid4().hex[:6]}"
    kube_cluster.kubectl("create", "namespace", name)
    yield name
    kube_cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture(scope="module")
def hello(kube_cluster: KubeCluster, ns: str) -> str:
    """The helloworld Deployment + Service, Ready; returns the Service's ClusterIP."""
    kube_cluster.apply(HELLO.format(image=image_ref("helloworld")), namespace=ns)
    kube_cluster.wait_for_rollout(ns, "hello", timeout=180)
    return kube_cluster.kubectl("get", "svc", "hello", "-n", ns, "-o",
                                "jsonpath={.spec.clusterIP}").stdout.strip()


def test_node_ready_and_up_is_idempotent(kube_cluster: KubeCluster) -> None:
    node = json.loads(kube_cluster.kubectl("get", "node", "knpy-node", "-o", "json").stdout)
    ready = {c["type"]: c["status"] for c in node["status"]["conditions"]}["Ready"]
    assert ready == "True"
    # The node has the bridge address: pods get status.hostIP; logs/exec work.
    addresses = {a["type"]: a["address"] for a in node["status"]["addresses"]}
    assert addresses["InternalIP"] == kube_cluster.node_ip
    # A second `up` finds everything running and returns without disturbing it.
    run_hack("cluster.sh", "up", cluster_dir=CLUSTER_DIR, timeout=120,
             env={"KNPY_MACHINE_LOCK_HELD": "1"})
    assert kube_cluster.kubectl("get", "--raw", "/readyz").stdout.strip() == "ok"


def test_service_range_is_routed_onto_the_bridge(kube_cluster: KubeCluster) -> None:
    """A ClusterIP that kube-proxy has not programmed yet must fail on this machine, not
    follow the default route off it (where the network's gateway once answered a fresh
    Service's address with an empty 404). Asks the routing table only; sends nothing."""
    for ip in ("10.96.255.254", "10.96.0.10"):
        route = subprocess.run(["ip", "route", "get", ip], capture_output=True, text=True,
                               timeout=10, check=True).stdout
        assert " dev cni0 " in route and " via " not in route, route


def test_hello_through_cluster_ip(kube_cluster: KubeCluster, hello: str) -> None:
    assert hello.startswith("10.96.")
    assert kube_cluster.http_get(f"http://{hello}/") == (200, "Hello knpy!\n")


def test_pods_resolve_services_by_cluster_dns(kube_cluster: KubeCluster, ns: str,
                                              hello: str) -> None:
    fqdn = f"hello.{ns}.svc.cluster.local"
    assert kube_cluster.resolve(fqdn) == [hello]
    with pytest.raises(KubeError, match="rcode 3"):
        kube_cluster.resolve(f"nope.{ns}.svc.cluster.local")
    # From inside a pod: the kubelet points resolv.conf at the harness's DNS, so the short
    # name (search path) and the FQDN both reach the Service; the API server is reachable
    # through the `kubernetes` Service.
    script = (
        "import urllib.request as u, ssl, socket\n"
        "print(u.urlopen('http://hello/', timeout=5).read().decode().strip())\n"
        f"print(u.urlopen('http://{fqdn}/', timeout=5).read().decode().strip())\n"
        "c = ssl.create_default_context(cafile="
        "'/var/run/secrets/kubernetes.io/serviceaccount/ca.crt')\n"
        "t = open('/var/run/secrets/kubernetes.io/serviceaccount/token').read()\n"
        "r = u.Request('https://kubernetes.default.svc/version', "
        "headers={'Authorization': 'Bearer ' + t})\n"
        "print(u.urlopen(r, context=c, timeout=5).status)\n"
    )
    out = kube_cluster.run_to_completion(ns, "dns-probe", image_ref("helloworld"),
                                         ["python3", "-c", script], timeout=180).split()
    assert out == ["Hello", "knpy!", "Hello", "knpy!", "200"]


def test_helm_install_and_uninstall(kube_cluster: KubeCluster, ns: str) -> None:
    release = "smoke"
    kube_cluster.helm("install", release, str(CHART), "-n", ns, "--wait", "--timeout", "60s")
    cm = json.loads(kube_cluster.kubectl("get", "configmap", f"{release}-greeting", "-n", ns,
                                         "-o", "json").stdout)
    assert cm["data"]["greeting"] == "hello from helm"
    assert cm["data"]["pdbApi"] == "policy/v1beta1"  # Kubernetes 1.20 has no policy/v1 PDB
    assert release in kube_cluster.helm("list", "-n", ns, "-q").stdout.split()
    kube_cluster.helm("uninstall", release, "-n", ns, "--wait", "--timeout", "60s")
    gone = kube_cluster.kubectl("get", "configmap", f"{release}-greeting", "-n", ns,
                                check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr
    assert kube_cluster.helm("list", "-n", ns, "-q").stdout.split() == []


def test_bad_image_reference_is_reported(kube_cluster: KubeCluster, ns: str) -> None:
    """Nothing can be pulled here: a pod with an image that was never built stays
    un-Ready and the wait names the pod and its reason."""
    kube_cluster.kubectl("run", "missing-image", "-n", ns, "--restart=Never",
                         "--image=dev.local/knpy/never-built:dev", "--image-pull-policy=Never",
                         "--labels=app=missing-image")
    with pytest.raises(KubeError, match="ErrImageNeverPull"):
        kube_cluster.wait_for_pods(ns, "app=missing-image", timeout=20)


SINK = """
apiVersion: v1
kind: Pod
metadata: {{name: sink, labels: {{app: sink}}}}
spec:
  containers:
  - name: sink
    image: {image}
    imagePullPolicy: Never
    env: [{{name: ECHO, value: "true"}}, {{name: REPLY_TYPE, value: smoke.reply}}]
    readinessProbe: {{httpGet: {{path: /healthz, port: 8080}}, periodSeconds: 1}}
"""


def test_event_display_sink_keeps_and_echoes_events(kube_cluster: KubeCluster, ns: str) -> None:
    kube_cluster.apply(SINK.format(image=image_ref("event-display")), namespace=ns)
    kube_cluster.wait_for_pods(ns, "app=sink", timeout=120)
    ip = kube_cluster.kubectl("get", "pod", "sink", "-n", ns, "-o",
                              "jsonpath={.status.podIP}").stdout.strip()
    headers = {"ce-specversion": "1.0", "ce-id": "e1", "ce-source": "/smoke",
               "ce-type": "smoke.ping", "Content-Type": "application/json"}
    req = urllib.request.Request(f"http://{ip}:8080/", data=b'{"n": 1}', headers=headers)
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200
        assert resp.headers["ce-type"] == "smoke.reply" and resp.headers["ce-id"] == "e1"
        assert json.loads(resp.read()) == {"n": 1}
    bad = urllib.request.Request(f"http://{ip}:8080/", data=b"{}",
                                 headers={"ce-specversion": "1.0", "ce-id": "e2"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(bad, timeout=10)
    assert err.value.code == 400 and b"source" in err.value.read()
    with urllib.request.urlopen(f"http://{ip}:8080/events", timeout=10) as resp:
        events = json.loads(resp.read())
    assert [(e["id"], e["type"], e["data"]) for e in events] == [("e1", "smoke.ping", {"n": 1})]


@pytest.mark.cluster_teardown
def test_down_leaves_the_machine_clean(kube_cluster: KubeCluster) -> None:
    if not kube_cluster.started_here:
        pytest.skip("the cluster was reused (KNPY_REUSE_CLUSTER=1): not ours to take down")
    assert HostState.now().processes, "the cluster should be running before down"
    stop_cluster(CLUSTER_DIR)
    left = HostState.now().leftovers()
    assert left == {}, f"left behind after down: {left}"
    # Down is idempotent.
    out = run_hack("cluster.sh", "down", cluster_dir=CLUSTER_DIR, timeout=60)
    assert "nothing to stop" in out
    assert (HACK / "cluster.sh").exists()
