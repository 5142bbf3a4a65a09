"""Ingress gateway throughput against Debian's nginx as a reverse proxy, in one run.

    python loadtests/bench_ingress.py [--seconds 5] [--rounds 2]

Upstream: nginx serving a small static body on 127.0.0.1 (bench_activator's). Baselines:
nginx direct, and a second nginx (one worker) as a keep-alive reverse proxy in front of it.
Then `python -m knpy.ingress --config FILE` (standalone: one KIngress whose host is
127.0.0.1, one split of 100% to an ExternalName Service naming the upstream), so each
request takes the gateway's whole path: host lookup, weighted pick, appendHeaders,
X-Forwarded-*/Forwarded. Load: wrk -t1 -c32; the two proxies alternate for --rounds rounds
and each one's best round counts. Every process is stopped by PID.

Prints: RESULT gateway_vs_nginx_proxy <ratio> x (issue 11's target >= 0.6), the raw
rates, and the gateway's CPU per request.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from loadtests.bench_activator import alternate, start_nginx_pair, wrk
from tests.support.procs import free_port, python_module, spawn, stop, wait_port


def gateway_config(path: Path, upstream: int) -> Path:
    split = {"serviceName": "up", "serviceNamespace": "default", "servicePort": upstream,
             "percent": 100, "appendHeaders": {"Knative-Serving-Revision": "bench"}}
    path.write_text(yaml.safe_dump_all([
        {"apiVersion": "networking.internal.knative.dev/v1alpha1", "kind": "Ingress",
         "metadata": {"name": "bench", "namespace": "default"},
         "spec": {"rules": [{"hosts": ["127.0.0.1"], "visibility": "ExternalIP",
                             "http": {"paths": [{"splits": [split]}]}}]}},
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "up", "namespace": "default"},
         "spec": {"type": "ExternalName", "externalName": "127.0.0.1"}}]))
    return path


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    for tool in ("nginx", "wrk"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            print(f"bench_ingress: {tool} not installed (make sysdeps)", file=sys.stderr)
            return 1
    procs: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory(prefix="knpy-bench-gw-") as tmp:
        prefix = Path(tmp)
        upstream, proxy, gw = free_port(), free_port(), free_port()
        try:
            start_nginx_pair(prefix, upstream, proxy, procs)
            g = spawn(python_module("knpy.ingress", "--config",
                                    str(gateway_config(prefix / "gw.yaml", upstream)),
                                    "--host", "127.0.0.1", "--port", str(gw),
                                    "--internal-port", "0", "--probe-port", "0",
                                    "--log-level", "warning"),
                      log_path=prefix / "gateway.log")
            procs.append(g)
            wait_port(gw, proc=g, timeout=30)
            wrk(gw, 1.0)  # warm-up: connections, pools, caches
            direct = wrk(upstream, args.seconds)
            nginx_runs, gw_runs, cpu_per_req = alternate(proxy, gw, g.pid, args.seconds,
                                                         args.rounds)
            via_nginx, via_gw = max(nginx_runs), max(gw_runs)
        finally:
            for p in reversed(procs):
                stop(p)
    print(f"nginx direct          {direct:10.0f} req/s")
    print(f"nginx reverse proxy   {via_nginx:10.0f} req/s")
    print(f"knpy ingress gateway  {via_gw:10.0f} req/s")
    print(f"(rounds: nginx proxy {[round(x) for x in nginx_runs]}, "
          f"gateway {[round(x) for x in gw_runs]})")
    print(f"RESULT gateway_rps {via_gw:.0f} req/s")
    print(f"RESULT gateway_vs_nginx_proxy {via_gw / via_nginx:.2f} x")
    print(f"RESULT gateway_cpu_per_request {min(cpu_per_req) * 1e6:.0f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
