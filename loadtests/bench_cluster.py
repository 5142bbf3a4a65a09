"""Serving on the local cluster, measured in one run (issue 10's benchmarks).

    make cluster-up && make deploy && python -m loadtests.bench_cluster   (make bench-cluster)

Needs the running local cluster with the current tree deployed; it makes its own
namespace and removes it again. From the host (which reaches pod IPs and ClusterIPs):

- throughput, wrk -t1 -c32 -d5s, the three paths alternating for --rounds rounds (the best
  of each counts) against one pod of the sample app (min-scale = max-scale = 1):
  the user container directly (pod IP:8080, the baseline), the queue-proxy (pod IP:8012) and
  the activator (the Revision's Service, held in Proxy mode by target-burst-capacity -1)
  and the gateway (NodePort 31080 with the route's Host: gateway -> activator -> pod);
  `RESULT cluster_qp_vs_direct`, `cluster_activator_vs_direct` and
  `cluster_gateway_vs_direct` are ratios to the baseline of the same run (targets >= 0.35,
  >= 0.20 and >= 0.20);
- cold start: --trials times, the Revision idles to zero pods (config-autoscaler's
  scale-to-zero-grace-period is set to 6 s for the run and restored after), then one GET
  through the activator is timed until its 200: `RESULT cold_start_p50_s`/`_p95_s`
  (targets <= 1.0 / 1.5);
- 20 Knative Services created at once (concurrent POSTs), each timed until it is Ready
  (its Route programmed on the gateway included): `RESULT ksvc_ready_p95_s` (target
  <= 10), and the controller's RSS after them;
- eventing (loadtests/bench_cluster_eventing.py): 10 Triggers, each sent one event the
  moment it is Ready: `RESULT trigger_ready_to_delivered_p95_s` (target <= 2) and
  `RESULT trigger_events_undelivered` (target 0).

Other benchmarks need no cluster: `make bench` (loadtests/run_bench.py) does not run this.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from knpy.runtime.k8s import Resource, connect
from loadtests.bench_cluster_eventing import trigger_ready_to_delivered
from tests.support.cluster import CLUSTER_DIR, KubeCluster, image_ref, is_up
from tests.support.poll import wait_until

SYSTEM_NS = "knpy-system"
GATEWAY = "http://127.0.0.1:31080/"  # the chart's knpy-ingress NodePort (docs/routing.md)
WRK_SECONDS = 5
STORM = 20
GRACE_KEY = "scale-to-zero-grace-period"
KPA = "autoscaling.knative.dev/"
KSERVICES = Resource("serving.knative.dev", "v1", "services", "Service")
PODS = Resource("", "v1", "pods", "Pod")
SERVICE_LABEL = "serving.knative.dev/service"
PHASES = ("throughput", "cold", "storm", "eventing")


class Kubectl(Protocol):
    """What the helpers below need of a cluster: the harness's KubeCluster, or the Locust
    run's Cluster."""

    def kubectl(self, *args: str, input: str | None = None, timeout: float = 60,
                check: bool = True) -> subprocess.CompletedProcess[str]: ...


def ksvc(name: str, annotations: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
            "metadata": {"name": name},
            "spec": {"template": {"metadata": {"annotations": annotations}, "spec": {
                "containers": [{"image": image_ref("helloworld"),
                                "ports": [{"name": "http1", "containerPort": 8080}]}]}}}}


async def create_and_time_ready(kubeconfig: str, ns: str, objs: list[dict[str, Any]],
                                limit: float) -> tuple[float, dict[str, float], dict[str, float]]:
    """POST every Knative Service concurrently (`kubectl apply` of a List creates them one
    after another, about 0.2 s each through the webhook here: 4 s of a 20-ksvc storm), then
    watch them and their pods: seconds from the first POST to each ksvc's first Ready True,
    and to its first pod's Ready True (what the node took; the rest is the control plane).
    Returns (the seconds the POSTs took, ksvc -> seconds, ksvc -> seconds to its pod). One
    watch per kind, not polling: a `kubectl get` every quarter second took CPU from the two
    cores the storm is measured on."""
    client = await connect(kubeconfig, user_agent="knpy-bench")
    names = {o["metadata"]["name"] for o in objs}
    ready: dict[str, float] = {}
    pods: dict[str, float] = {}

    async def follow(res: Resource, rv: str, record: Callable[[dict[str, Any]], None],
                     done: Callable[[], bool]) -> None:
        while not done():
            async for ev in client.watch(res, ns, rv, timeout_seconds=60):
                obj = ev.get("object") or {}
                rv = (obj.get("metadata") or {}).get("resourceVersion") or rv
                record(obj)
                if done():
                    return

    def is_ready(obj: dict[str, Any]) -> bool:
        return any(c.get("type") == "Ready" and c.get("status") == "True"
                   for c in (obj.get("status") or {}).get("conditions") or [])

    def first_ready(into: dict[str, float], name: str, obj: dict[str, Any]) -> None:
        if name in names and name not in into and is_ready(obj):
            into[name] = time.monotonic() - t0

    def ksvc_seen(obj: dict[str, Any]) -> None:
        first_ready(ready, (obj.get("metadata") or {}).get("name") or "", obj)

    def pod_seen(obj: dict[str, Any]) -> None:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        first_ready(pods, labels.get(SERVICE_LABEL) or "", obj)

    try:
        ksvc_rv = (await client.list(KSERVICES, ns))["metadata"]["resourceVersion"]
        pod_rv = (await client.list(PODS, ns))["metadata"]["resourceVersion"]
        t0 = time.monotonic()
        await asyncio.gather(*(client.create(KSERVICES, {**o, "metadata": {
            **o["metadata"], "namespace": ns}}) for o in objs))
        created = time.monotonic() - t0
        async with asyncio.timeout(limit):
            await asyncio.gather(
                follow(KSERVICES, ksvc_rv, ksvc_seen, lambda: len(ready) == len(names)),
                follow(PODS, pod_rv, pod_seen, lambda: len(pods) == len(names)))
    except TimeoutError:
        raise RuntimeError(f"only {len(ready)} of {len(names)} ksvcs Ready within "
                           f"{limit:g}s") from None
    finally:
        await client.close()
    return created, ready, pods


def wait(cond: Callable[[], Any], timeout: float, what: str, every: float = 0.5) -> Any:
    return wait_until(cond, timeout, what, every=every)


def wrk(url: str, host: str | None = None, seconds: float = WRK_SECONDS) -> float:
    headers = ["-H", f"Host: {host}"] if host else []
    out = subprocess.run(["wrk", "-t1", "-c32", f"-d{seconds:g}s", *headers, url],
                         capture_output=True, text=True, timeout=seconds + 30).stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not m:
        raise RuntimeError(f"wrk output without a rate:\n{out}")
    if re.search(r"Non-2xx or 3xx responses|Socket errors", out):
        raise RuntimeError(f"wrk saw errors on {url}:\n{out}")
    return float(m.group(1))


def get_status(url: str, host: str, timeout: float) -> int:
    """One GET with curl (a fresh connection, as a client arriving at a cold revision)."""
    r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m",
                        f"{timeout:g}", "-H", f"Host: {host}", url],
                       capture_output=True, text=True, timeout=timeout + 10)
    return int(r.stdout or 0)


class Bench:
    def __init__(self, cluster: KubeCluster, ns: str) -> None:
        self.c, self.ns = cluster, ns

    def get(self, kind: str, name: str, ns: str | None = None) -> dict[str, Any]:
        return json.loads(self.c.kubectl("get", kind, name, "-n", ns or self.ns, "-o",
                                         "json").stdout)

    def revision_ready(self, rev: str) -> bool:
        p = self.c.kubectl("get", "revision", rev, "-n", self.ns, "-o",
                           "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
                           check=False)
        return p.stdout.strip() == "True"

    def service_url(self, rev: str) -> tuple[str, str]:
        ip = self.c.kubectl("get", "svc", rev, "-n", self.ns, "-o",
                            "jsonpath={.spec.clusterIP}").stdout.strip()
        return f"http://{ip}/", f"{rev}.{self.ns}.svc.cluster.local"

    def pod_ips(self, rev: str) -> list[str]:
        return self.c.kubectl("get", "pods", "-n", self.ns, "-l",
                              f"serving.knative.dev/revision={rev}", "-o",
                              "jsonpath={.items[*].status.podIP}").stdout.split()

    def throughput(self, rounds: int) -> dict[str, float]:
        self.c.apply(json.dumps(ksvc("tput", {
            f"{KPA}min-scale": "1", f"{KPA}max-scale": "1",
            f"{KPA}target-burst-capacity": "-1"})), namespace=self.ns)
        rev = "tput-00001"
        wait(lambda: self.revision_ready(rev), 240, f"{rev} Ready")
        ip = wait(lambda: (ips := self.pod_ips(rev)) and len(ips) == 1 and ips[0], 60,
                  f"{rev}'s pod IP")
        svc, host = self.service_url(rev)
        wait(lambda: get_status(svc, host, 10) == 200, 60, "the activator path answering")
        route_host = f"tput.{self.ns}.example.com"
        wait(lambda: get_status(GATEWAY, route_host, 10) == 200, 60, "the gateway answering")
        paths = {"direct": (f"http://{ip}:8080/", None),
                 "queue-proxy": (f"http://{ip}:8012/", host),
                 "activator": (svc, host),
                 # the full path a user's request takes: gateway -> activator -> pod
                 "gateway": (GATEWAY, route_host)}
        best = dict.fromkeys(paths, 0.0)
        for _ in range(rounds):
            for name, (url, h) in paths.items():
                best[name] = max(best[name], wrk(url, h))
        return best

    def cold_starts(self, trials: int) -> list[float]:
        self.c.apply(json.dumps(ksvc("cold", {f"{KPA}window": "6s"})), namespace=self.ns)
        rev = "cold-00001"
        wait(lambda: self.revision_ready(rev), 240, f"{rev} Ready")
        svc, host = self.service_url(rev)
        times = []
        for i in range(trials):
            wait(lambda: not self.pod_ips(rev) and not self.c.kubectl(
                "get", "pods", "-n", self.ns, "-l", f"serving.knative.dev/revision={rev}",
                "-o", "name").stdout.strip(), 180, f"{rev} at zero pods (trial {i + 1})", 0.5)
            t0 = time.monotonic()
            code = get_status(svc, host, 60)
            took = time.monotonic() - t0
            if code != 200:
                raise RuntimeError(f"cold request {i + 1} got {code}")
            times.append(took)
            print(f"cold start {i + 1}: {took:.2f}s", flush=True)
        return times

    def ksvc_storm(self) -> tuple[list[float], list[float]]:
        """Seconds to each ksvc's Ready, and from its pod's Ready to its own."""
        items = [ksvc(f"storm-{i:02d}", {f"{KPA}window": "6s"}) for i in range(STORM)]
        created, ready, pods = asyncio.run(create_and_time_ready(
            self.c.kubeconfig, self.ns, items, 300))
        print(f"{STORM} ksvcs created in {created:.2f}s", flush=True)
        lag = [ready[n] - pods[n] for n in ready if n in pods]
        return sorted(ready.values()), sorted(lag)

    def controller_rss_mb(self) -> float:
        out = self.c.kubectl("exec", "-n", SYSTEM_NS, "deployment/knpy-controller", "--",
                             "python", "-c",
                             "print(open('/proc/1/status').read())").stdout
        m = re.search(r"VmRSS:\s+(\d+) kB", out)
        if not m:
            raise RuntimeError(f"no VmRSS in the controller's /proc/1/status:\n{out}")
        return int(m.group(1)) / 1024


def mount_no_sa_token(c: Kubectl, ns: str) -> None:
    """Make `ns`'s default ServiceAccount mount no token. Every pod start mounts that Secret
    unless told otherwise, and on this 1.20 kubelet its first mount on the node races the
    node authorizer (docs/serving-api.md, "Where a cold start goes")."""
    wait(lambda: c.kubectl("get", "serviceaccount", "default", "-n", ns,
                           check=False).returncode == 0, 30, "the default ServiceAccount")
    c.kubectl("patch", "serviceaccount", "default", "-n", ns, "-p",
              '{"automountServiceAccountToken": false}')


def set_grace(c: Kubectl, value: str | None) -> str | None:
    """Set (None: remove) config-autoscaler's scale-to-zero grace; the old value."""
    cm = json.loads(c.kubectl("get", "configmap", "config-autoscaler", "-n", SYSTEM_NS,
                              "-o", "json").stdout)
    old = (cm.get("data") or {}).get(GRACE_KEY)
    patch = {"data": {GRACE_KEY: value}}
    c.kubectl("patch", "configmap", "config-autoscaler", "-n", SYSTEM_NS, "--type=merge",
              "-p", json.dumps(patch))
    return old


def percentile(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(p / 100 * len(s) + 0.5) - 1))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--trials", type=int, default=5)
    ap.add_argument("--no-sa-token", action="store_true",
                    help="the namespace's default ServiceAccount mounts no token, so pods "
                         "have no Secret volume; the RESULT names get _no_sa_token")
    ap.add_argument("--only", default=",".join(PHASES),
                    help=f"comma-separated phases to run (default all: {','.join(PHASES)})")
    args = ap.parse_args()
    only = {p.strip() for p in args.only.split(",") if p.strip()}
    if not only or only - set(PHASES):
        ap.error(f"--only: want phases from {','.join(PHASES)}, got {args.only!r}")
    if not is_up(CLUSTER_DIR):
        print("no local cluster: `make cluster-up` and `make deploy` first", file=sys.stderr)
        return 2
    c = KubeCluster(CLUSTER_DIR)
    if c.kubectl("get", "deployment", "knpy-controller", "-n", SYSTEM_NS,
                 check=False).returncode != 0:
        print("knpy is not installed on the cluster: `make deploy` first", file=sys.stderr)
        return 2
    ns = f"bench-{uuid.uuid4().hex[:6]}"
    c.kubectl("create", "namespace", ns)
    tag = ""
    if args.no_sa_token:
        mount_no_sa_token(c, ns)
        tag = "_no_sa_token"
    old_grace = set_grace(c, "6s")
    b = Bench(c, ns)
    try:
        if "throughput" in only:
            rates = b.throughput(args.rounds)
            for name, rate in rates.items():
                print(f"RESULT cluster_{name.replace('-', '_')}_rps {rate:.0f} req/s")
            print(f"RESULT cluster_qp_vs_direct {rates['queue-proxy'] / rates['direct']:.2f} x")
            print(f"RESULT cluster_activator_vs_direct "
                  f"{rates['activator'] / rates['direct']:.2f} x")
            print(f"RESULT cluster_gateway_vs_direct "
                  f"{rates['gateway'] / rates['direct']:.2f} x")
            c.kubectl("delete", "ksvc", "tput", "-n", ns, "--wait=false")
        if "cold" in only:
            cold = b.cold_starts(args.trials)
            print(f"RESULT cold_start{tag}_p50_s {statistics.median(cold):.2f} s")
            print(f"RESULT cold_start{tag}_p95_s {percentile(cold, 95):.2f} s")
            c.kubectl("delete", "ksvc", "cold", "-n", ns, "--wait=false")
        if "storm" in only:
            ready, lag = b.ksvc_storm()
            print(f"RESULT ksvc_ready{tag}_p50_s {statistics.median(ready):.1f} s")
            print(f"RESULT ksvc_ready{tag}_p95_s {percentile(ready, 95):.1f} s")
            # the control plane's part: from a ksvc's pod Ready to the ksvc Ready
            print(f"RESULT ksvc_ready_after_pod{tag}_p50_s {statistics.median(lag):.2f} s")
            print(f"RESULT ksvc_ready_after_pod{tag}_p95_s {percentile(lag, 95):.2f} s")
            print(f"RESULT controller_rss_mb {b.controller_rss_mb():.0f} MB")
        if "eventing" in only:
            times, undelivered = trigger_ready_to_delivered(c, ns)
            if times:
                print(f"RESULT trigger_ready_to_delivered_p50_s {statistics.median(times):.2f} s")
                print(f"RESULT trigger_ready_to_delivered_p95_s {percentile(times, 95):.2f} s")
            print(f"RESULT trigger_events_undelivered {undelivered}")
    finally:
        set_grace(c, old_grace)
        c.kubectl("delete", "ksvc", "--all", "-n", ns, "--wait=true", "--timeout=120s",
                  timeout=150, check=False)
        c.kubectl("delete", "namespace", ns, "--wait=false", check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
