"""The whole knpy stack installed once by its Helm chart on the local cluster, shared by
every test module in this package: Eventing (docs/eventing-e2e.md) and Serving.

`knpy_stack` (package scope: one install for every module here) installs the current tree
the way `make deploy` does (hack/deploy.py: images built and imported where they changed,
charts/knpy installed into knpy-system with them, every knpy pod Ready, the webhook's
caBundle set), checks that a
second deploy and an unchanged `helm upgrade` change nothing, and on the way out deletes
what the tests created, `helm uninstall`s and removes the namespace and CRDs it brought.
`sink_ns` gives each test module a namespace with the event-display sink (Deployment +
Service).
"""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from hack.deploy import deploy
from tests.support.cluster import KubeCluster, KubeError, image_ref, reuse_requested
from tests.support.poll import wait_until
from tests.support.procs import REPO

CHART = REPO / "charts" / "knpy"
SYSTEM_NS = "knpy-system"
RELEASE = "knpy"
DEPLOYMENTS = ("knpy-controller", "knpy-webhook", "knpy-broker-ingress",
               "knpy-broker-dispatcher", "knpy-activator", "knpy-autoscaler", "knpy-ingress",
               "knpy-pingsource-adapter")
# every CRD the chart installs (crds/: eventing and sources), removed again by teardown
CRDS = tuple(d["metadata"]["name"] for f in sorted((CHART / "crds").glob("*.yaml"))
             for d in yaml.safe_load_all(f.read_text())
             if d and d.get("kind") == "CustomResourceDefinition")
WEBHOOKS = (("validatingwebhookconfiguration", "validation.webhook.eventing.knpy.dev"),
            ("mutatingwebhookconfiguration", "defaulting.webhook.eventing.knpy.dev"))

# what a cluster probe may raise while the stack is still coming up (retried, not failed)
PROBE_ERRORS = (KubeError, OSError, ValueError, KeyError)


@dataclass
class Eventing:
    """The installed stack: the cluster plus helpers the tests share."""

    cluster: KubeCluster
    namespace: str = SYSTEM_NS

    def get(self, kind: str, name: str, namespace: str) -> dict[str, Any]:
        return json.loads(self.cluster.kubectl("get", kind, name, "-n", namespace, "-o",
                                               "json").stdout)

    def diagnostics(self, namespace: str | None = None) -> str:
        """Pods, recent events and component log tails, for failure messages."""
        k = self.cluster.kubectl
        out = [k("get", "pods", "-A", "-o", "wide", check=False).stdout]
        for ns in filter(None, (self.namespace, namespace)):
            out.append(k("get", "events", "-n", ns, "--sort-by=.lastTimestamp",
                         check=False).stdout[-2500:])
        for d in DEPLOYMENTS:
            logs = k("logs", "-n", self.namespace, f"deployment/{d}", "--tail=25",
                     check=False)
            out.append(f"--- {d}\n{logs.stdout}{logs.stderr}")
        if namespace:
            out.append(k("get", "brokers,triggers", "-n", namespace, "-o", "yaml",
                         check=False).stdout[-4000:])
        return "\n".join(out)

    def wait_ready(self, kind: str, name: str, namespace: str, timeout: float = 180,
                   detail: Callable[[], str] | None = None) -> dict[str, Any]:
        """The object once its Ready condition is True (`detail`: what to print if it
        never is; default: diagnostics)."""
        def ready() -> dict[str, Any] | None:
            obj = self.get(kind, name, namespace)
            conds = {c["type"]: c for c in (obj.get("status") or {}).get("conditions") or []}
            return obj if conds.get("Ready", {}).get("status") == "True" else None
        return wait_until(ready, timeout, f"{kind} {namespace}/{name} Ready", every=1.0,
                          ignore=PROBE_ERRORS,
                          detail=detail or (lambda: self.diagnostics(namespace)))

    def cluster_url(self, url: str) -> tuple[str, str]:
        """(URL with the host replaced by its ClusterIP, original Host header).

        The host does not use the cluster DNS (docs/cluster.md), so a Service name such as
        broker-ingress.knpy-system.svc.cluster.local is resolved through the harness's
        resolver and the request goes to the ClusterIP with the original Host header."""
        scheme, rest = url.split("://", 1)
        hostport, _, path = rest.partition("/")
        host, _, port = hostport.partition(":")
        ips = self.cluster.resolve(host)
        assert ips, f"cluster DNS has no address for {host}"
        return f"{scheme}://{ips[0]}{':' + port if port else ''}/{path}", hostport


@pytest.fixture(scope="package")
def knpy_stack(kube_cluster: KubeCluster) -> Iterator[Eventing]:
    c = kube_cluster
    installed = RELEASE in c.helm("list", "-n", SYSTEM_NS, "-q").stdout.split()
    if installed and reuse_requested():
        # `make deploy` already installed the current tree: test against it, leave it
        yield Eventing(c)
        return
    if installed:
        pytest.fail(f"release {RELEASE} is already installed in {SYSTEM_NS}: `helm uninstall "
                    f"{RELEASE} -n {SYSTEM_NS}` first, or set KNPY_REUSE_CLUSTER=1 to test "
                    "against it", pytrace=False)
    had_crds = {n for n in CRDS if c.kubectl("get", "crd", n, check=False).returncode == 0}
    had_ns = c.kubectl("get", "namespace", SYSTEM_NS, check=False).returncode == 0
    ev = Eventing(c)
    try:
        t0 = time.monotonic()
        # `make deploy`'s path: on the local cluster NATS keeps JetStream on an emptyDir (no
        # StorageClass) and pods use the imported images (pull policy Never).
        deploy(c.cluster_dir, timeout=300)
        t_deploy = time.monotonic() - t0
        # The pods are ready, but kube-proxy programs the webhook's Service a moment later,
        # and the upgrade is admitted through that Service (else: connection refused).
        webhook_ip = c.kubectl("get", "service", "knpy-webhook", "-n", SYSTEM_NS, "-o",
                               "jsonpath={.spec.clusterIP}").stdout.strip()
        wait_until(lambda: _accepts(webhook_ip, 443), 60,
                   "the webhook Service accepting connections", every=1.0,
                   ignore=PROBE_ERRORS, detail=ev.diagnostics)
        # make deploy is idempotent: nothing changed, so nothing is upgraded.
        t1 = time.monotonic()
        assert not deploy(c.cluster_dir, timeout=120), "a second deploy upgraded the release"
        t_again = time.monotonic() - t1
        # An unchanged upgrade must apply cleanly too (Helm 4 applies server-side, and
        # fields other managers own, e.g. aggregated ClusterRole rules, would conflict).
        c.helm("upgrade", RELEASE, str(CHART), "-n", SYSTEM_NS, "--reuse-values",
               "--wait=watcher", "--timeout", "120s", timeout=150)
        for d in DEPLOYMENTS:
            c.wait_for_rollout(SYSTEM_NS, d, timeout=120)
        c.wait_for_pods(SYSTEM_NS, "app.kubernetes.io/name=nats", timeout=120)
        # The webhook fills in caBundle itself; until it has, admission would fail.
        for kind, name in WEBHOOKS:
            wait_until(lambda kind=kind, name=name: c.kubectl(
                "get", kind, name, "-o", "jsonpath={.webhooks[0].clientConfig.caBundle}"
            ).stdout.strip(), 120, f"caBundle on {name}", every=1.0, ignore=PROBE_ERRORS,
                detail=ev.diagnostics)
        print(f"\nknpy stack: deploy (images + install to ready) {t_deploy:.1f}s, "
              f"second deploy {t_again:.1f}s")
        yield ev
    finally:
        _teardown(c, had_crds, had_ns)


def _accepts(host: str, port: int) -> bool:
    with socket.create_connection((host, port), timeout=2):
        return True


def _teardown(c: KubeCluster, had_crds: set[str], had_ns: bool) -> None:
    """Everything the fixture made goes, even after a failed install."""
    errors: list[str] = []

    def attempt(*args: str, timeout: float = 120) -> None:
        try:
            p = c.kubectl(*args, timeout=timeout, check=False)
            if p.returncode != 0 and "NotFound" not in p.stderr and "not found" not in p.stderr:
                errors.append(f"kubectl {' '.join(args)}: {p.stderr.strip()}")
        except KubeError as e:
            errors.append(str(e))

    # Brokers/Triggers first, while the controller still runs (namespaces of sink_ns are
    # removed by that fixture, which finishes before this one).
    p = c.helm("uninstall", RELEASE, "-n", SYSTEM_NS, "--wait", "--timeout", "120s",
               timeout=150, check=False)
    if p.returncode != 0 and "not found" not in p.stderr:
        errors.append(f"helm uninstall: {p.stderr.strip()}")
    if not had_ns:
        # takes the controller's contract ConfigMap and the webhook's Secret with it
        attempt("delete", "namespace", SYSTEM_NS, "--wait=true", "--timeout=120s",
                timeout=150)
    for crd in CRDS:
        if crd not in had_crds:
            attempt("delete", "crd", crd, "--wait=true", "--timeout=60s", timeout=90)
    for kind, name in WEBHOOKS:
        attempt("delete", kind, name)  # already gone with the release; belt and braces
    # nothing of the release is left in the cluster
    left = c.kubectl("get", "clusterroles,clusterrolebindings,"
                     "validatingwebhookconfigurations,mutatingwebhookconfigurations",
                     "-l", f"app.kubernetes.io/instance={RELEASE}", "-o", "name",
                     check=False).stdout.split()
    if not had_ns and c.kubectl("get", "namespace", SYSTEM_NS, check=False).returncode == 0:
        left.append(f"namespace/{SYSTEM_NS}")
    left += [f"crd/{n}" for n in CRDS if n not in had_crds
             and c.kubectl("get", "crd", n, check=False).returncode == 0]
    if left:
        errors.append(f"left behind: {left}")
    if errors:
        raise KubeError("eventing teardown:\n" + "\n".join(errors))


SINK = """
apiVersion: apps/v1
kind: Deployment
metadata: {{name: sink, labels: {{app: sink}}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: sink}}}}
  template:
    metadata: {{labels: {{app: sink}}}}
    spec:
      containers:
      - name: display
        image: {image}
        imagePullPolicy: Never
        env: [{{name: MAX_EVENTS, value: "5000"}}]
        ports: [{{containerPort: 8080}}]
        readinessProbe: {{httpGet: {{path: /, port: 8080}}, periodSeconds: 1}}
---
apiVersion: v1
kind: Service
metadata: {{name: sink}}
spec:
  selector: {{app: sink}}
  ports: [{{port: 80, targetPort: 8080}}]
"""


@dataclass
class Sink:
    """The event-display Deployment + Service; read from the host through its ClusterIP."""

    namespace: str
    ip: str

    def events(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"http://{self.ip}/events", timeout=10) as r:
            return json.loads(r.read())

    def clear(self) -> None:
        req = urllib.request.Request(f"http://{self.ip}/events", method="DELETE")
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 204


@pytest.fixture(scope="module")
def sink(knpy_stack: Eventing) -> Iterator[Sink]:
    c = knpy_stack.cluster
    ns = f"ev-{uuid.uuid4().hex[:6]}"
    c.kubectl("create", "namespace", ns)
    try:
        c.apply(SINK.format(image=image_ref("event-display")), namespace=ns)
        c.wait_for_rollout(ns, "sink", timeout=120)
        ip = c.kubectl("get", "svc", "sink", "-n", ns, "-o",
                       "jsonpath={.spec.clusterIP}").stdout.strip()
        yield Sink(ns, ip)
    finally:
        # Triggers and Brokers go while the controller runs; then the namespace.
        c.kubectl("delete", "triggers,brokers", "--all", "-n", ns, "--wait=true",
                  "--timeout=60s", timeout=90, check=False)
        c.kubectl("delete", "namespace", ns, "--wait=true", "--timeout=120s", timeout=150,
                  check=False)


def post(url: str, host: str, headers: dict[str, str], body: bytes) -> int:
    """POST an HTTP message (e.g. from the CloudEvents SDK); the status code, 0 when no
    HTTP answer came (connection refused or reset, timeout)."""
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={**headers, "Host": host})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:  # URLError, ConnectionError, TimeoutError
        return 0

