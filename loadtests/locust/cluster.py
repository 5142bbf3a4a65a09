"""--target cluster: the scenarios' services as Knative objects on a cluster running knpy
(`make cluster-up deploy`, or any cluster whose kubeconfig is given), reached through the
knpy-ingress NodePort with Host headers (docs/routing.md). UNTESTED by the suite's tests.

Each scenario gets a namespace of its own, removed when it ends:
- dataplane, ramp: Knative Service `probe` at exactly one pod with target-burst-capacity -1
  (the activator stays in the path). Paths: the user container (pod IP:8080) and the
  queue-proxy (pod IP:8012) need a host that reaches pod IPs, as the local harness does;
  "activator" is the gateway -> activator -> queue-proxy path.
- coldstart: N Services, each first Ready, then left idle until it has no pod
  (config-autoscaler's scale-to-zero-grace-period is 6 s meanwhile, restored after).
- broker: Broker `default` and a Trigger to the counting sink, which runs on this host
  bound to --node-ip (the host's address as pods reach it); events go to the broker
  ingress Service's ClusterIP.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hack.run_local import Stack
from loadtests.bench_cluster import KPA, ksvc, mount_no_sa_token, set_grace, wait
from loadtests.locust.targets import Target, wait_200
from tests.support.cluster import CLUSTER_DIR, TOOLS_BIN
from tests.support.procs import free_port, spawn, wait_port

READY_S = 300.0


class Cluster:
    def __init__(self, kubeconfig: str | None, gateway: str, domain: str, node_ip: str,
                 run_dir: Path, sa_token: bool = True) -> None:
        self.kubeconfig = (kubeconfig or os.environ.get("KUBECONFIG")
                           or str(CLUSTER_DIR / "admin.kubeconfig"))
        self.kubectl_bin = shutil.which("kubectl", path=f"{TOOLS_BIN}:{os.environ['PATH']}")
        self.gateway, self.domain, self.node_ip = gateway.rstrip("/"), domain, node_ip
        self.ns = f"loadtest-{uuid.uuid4().hex[:6]}"
        self.stack = Stack(run_dir)  # the sink, stopped by PID on exit
        self.old_grace: str | None = None
        self.grace_set = False
        self.sa_token = sa_token

    def kubectl(self, *args: str, input: str | None = None, timeout: float = 60,
                check: bool = True) -> subprocess.CompletedProcess[str]:
        if self.kubectl_bin is None:
            raise RuntimeError("kubectl not found (make kube-tools)")
        p = subprocess.run([self.kubectl_bin, "--kubeconfig", self.kubeconfig, *args],
                           input=input, capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)}: {p.stderr.strip()}")
        return p

    def __enter__(self) -> Cluster:
        self.kubectl("create", "namespace", self.ns)
        if not self.sa_token:
            mount_no_sa_token(self, self.ns)
        return self

    def __exit__(self, *_exc: object) -> None:
        try:
            if self.grace_set:
                set_grace(self, self.old_grace)
            self.kubectl("delete", "namespace", self.ns, "--wait=false", check=False)
        finally:
            self.stack.down()

    # ------------------------------------------------------------ helpers
    def _get(self, kind: str, name: str, ns: str | None = None) -> dict[str, Any]:
        return json.loads(self.kubectl("get", kind, name, "-n", ns or self.ns, "-o",
                                       "json").stdout)

    def _ready(self, kind: str, name: str) -> bool:
        conds = self._get(kind, name).get("status", {}).get("conditions", [])
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conds)

    def _services(self, names: list[str], annotations: dict[str, str]) -> None:
        for n in names:
            self.kubectl("apply", "-n", self.ns, "-f", "-",
                         input=json.dumps(ksvc(n, annotations)))
        for n in names:
            wait(lambda n=n: self._ready("ksvc", n), READY_S, f"ksvc {n} Ready")

    def _pods(self, name: str) -> list[str]:
        return self.kubectl("get", "pods", "-n", self.ns, "-l",
                            f"serving.knative.dev/service={name}", "-o",
                            "jsonpath={.items[*].status.podIP}").stdout.split()

    def _via_gateway(self, name: str) -> Target:
        return Target(self.gateway, {"Host": f"{name}.{self.ns}.{self.domain}"}, name)

    # ------------------------------------------------------------ Services
    def dataplane(self) -> dict[str, Target]:
        self._services(["probe"], {KPA + "min-scale": "1", KPA + "max-scale": "1",
                                   KPA + "target-burst-capacity": "-1"})
        ip = wait(lambda: (ips := self._pods("probe")) and len(ips) == 1 and ips[0], READY_S,
                  "probe's one pod IP")
        targets = {"direct": Target(f"http://{ip}:8080", name="direct"),
                   "queue-proxy": Target(f"http://{ip}:8012", name="queue-proxy"),
                   "activator": self._via_gateway("probe")}
        for t in targets.values():
            wait_200(t, timeout=READY_S)
        return targets

    def at_zero(self, names: list[str]) -> list[Target]:
        self.old_grace, self.grace_set = set_grace(self, "6s"), True
        self._services(names, {})
        for n in names:
            wait(lambda n=n: not self._pods(n), READY_S, f"{n} at zero pods", every=1.0)
        return [self._via_gateway(n) for n in names]

    def broker(self) -> tuple[Target, str, str]:
        port = free_port(self.node_ip)
        sink = spawn([sys.executable, "-m", "loadtests.locust.sink", "--host", self.node_ip,
                      "--port", str(port)], log_path=self.stack.logs / "sink.log")
        self.stack.procs["sink"] = sink
        wait_port(port, host=self.node_ip, proc=sink)
        self.kubectl("apply", "-n", self.ns, "-f", "-", input=json.dumps({
            "apiVersion": "v1", "kind": "List", "items": [
                {"apiVersion": "eventing.knative.dev/v1", "kind": "Broker",
                 "metadata": {"name": "default"}},
                {"apiVersion": "eventing.knative.dev/v1", "kind": "Trigger",
                 "metadata": {"name": "sink"},
                 "spec": {"broker": "default",
                          "subscriber": {"uri": f"http://{self.node_ip}:{port}/"}}}]}))
        for kind, name in (("broker", "default"), ("trigger", "sink")):
            wait(lambda k=kind, n=name: self._ready(k, n), READY_S, f"{kind} {name} Ready")
        url = urlsplit(self._get("broker", "default")["status"]["address"]["url"])
        svc, ns = (url.hostname or "").split(".")[:2]  # <service>.<namespace>.svc...
        ip = self._get("service", svc, ns)["spec"]["clusterIP"]
        return (Target(f"http://{ip}", name="broker"), url.path,
                f"http://{self.node_ip}:{port}/stats")
