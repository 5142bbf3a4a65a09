"""Activator throughput against Debian's nginx as a reverse proxy, measured in one run.

    python loadtests/bench_activator.py [--seconds 5]

Upstream: nginx serving a small static body on 127.0.0.1. It also answers the activator's
probe (`K-Network-Probe: queue` -> 200 `queue`, as a queue-proxy would), so the activator
probes it for real before sending it anything: no probing shortcut in this benchmark.
Baselines: nginx direct, and a second nginx (one worker) as a keep-alive reverse proxy in
front of the upstream.
Then `python -m knpy.activator` (containerConcurrency 0, one backend = the upstream).
Load: wrk -t1 -c32 -d5s, every request carrying the Knative routing headers; the two
proxies alternate for --rounds rounds (default 2) and each one's best round counts.
Every process runs in its own process group and is stopped by PID.

Prints: RESULT activator_vs_nginx_proxy <ratio> x (target >= 0.50), plus the raw rates.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support.procs import free_port, python_module, spawn, stop, wait_port

REPO = Path(__file__).resolve().parents[1]

HEADERS = ["-H", "Knative-Serving-Namespace: default", "-H", "Knative-Serving-Revision: bench"]
BODY = "hello from nginx\n"


def nginx_conf(prefix: Path, name: str, server: str) -> Path:
    """A one-worker nginx of its own (pid, logs, temp dirs under prefix/name)."""
    d = prefix / name
    d.mkdir(mode=0o755)
    conf = d / "nginx.conf"
    conf.write_text(f"""
worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    keepalive_requests 1000000;
{server}
}}
""")
    return conf


def upstream_conf(prefix: Path, port: int) -> Path:
    prefix.chmod(0o755)  # nginx workers drop privileges and must read the static file
    (prefix / "www").mkdir(mode=0o755)
    (prefix / "www" / "index.html").write_text(BODY)
    (prefix / "www" / "index.html").chmod(0o644)
    return nginx_conf(prefix, "upstream", f"""
    server {{
        listen 127.0.0.1:{port};
        root {prefix}/www;
        location / {{
            if ($http_k_network_probe = "queue") {{ return 200 "queue"; }}
            index index.html;
        }}
    }}""")


def proxy_conf(prefix: Path, port: int, upstream_port: int) -> Path:
    return nginx_conf(prefix, "proxy", f"""
    upstream app {{ server 127.0.0.1:{upstream_port}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}""")


def wrk(port: int, seconds: float, path: str = "/") -> float:
    out = subprocess.run(["wrk", "-t1", "-c32", f"-d{seconds:g}s", *HEADERS,
                          f"http://127.0.0.1:{port}{path}"],
                         capture_output=True, text=True, timeout=seconds + 30).stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not m:
        raise RuntimeError(f"wrk output without a rate:\n{out}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)", out)
    if errors:
        raise RuntimeError(f"wrk saw errors on :{port}:\n{out}")
    return float(m.group(1))


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_nginx_pair(prefix: Path, upstream: int, proxy: int,
                     procs: list[subprocess.Popen]) -> None:
    """Two nginx instances, one worker each: the upstream, and the proxy in front of it, so
    the proxy under test is always one process of its own in both cases."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    for conf, port in ((upstream_conf(prefix, upstream), upstream),
                       (proxy_conf(prefix, proxy, upstream), proxy)):
        ng = spawn([nginx, "-c", str(conf), "-p", str(conf.parent)],
                   log_path=conf.parent / "nginx.out")
        procs.append(ng)
        wait_port(port, proc=ng)


def alternate(proxy: int, port: int, pid: int, seconds: float, rounds: int
              ) -> tuple[list[float], list[float], list[float]]:
    """(nginx proxy rates, rates of the proxy under test on `port`, its CPU s/request).
    Other work on this machine comes and goes: alternate the two proxies, so that each
    one's best round compares both at their least disturbed."""
    nginx_runs, runs, cpu_per_req = [], [], []
    for _ in range(max(1, rounds)):
        nginx_runs.append(wrk(proxy, seconds))
        c0 = cpu_seconds(pid)
        runs.append(wrk(port, seconds))
        cpu_per_req.append((cpu_seconds(pid) - c0) / (runs[-1] * seconds))
    return nginx_runs, runs, cpu_per_req


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """Until the activator forwards a request (its backend probed and healthy)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "1",
                            "-H", HEADERS[1], "-H", HEADERS[3], f"http://127.0.0.1:{port}/"],
                           capture_output=True, text=True)
        if r.stdout == "200":
            return
        if proc.poll() is not None:
            raise RuntimeError("activator exited")
        time.sleep(0.05)
    raise TimeoutError("activator never forwarded a request")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--rounds", type=int, default=2,
                    help="alternating proxy/activator rounds; the best of each counts")
    args = ap.parse_args()
    for tool in ("nginx", "wrk", "curl"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            print(f"bench_activator: {tool} not installed (make sysdeps)", file=sys.stderr)
            return 1
    procs: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory(prefix="knpy-bench-act-") as tmp:
        prefix = Path(tmp)
        upstream, proxy, act = free_port(), free_port(), free_port()
        try:
            start_nginx_pair(prefix, upstream, proxy, procs)
            a = spawn(python_module("knpy.activator", "--host", "127.0.0.1", "--port", str(act),
                                    "--revision", "default/bench", "--container-concurrency", "0",
                                    "--backend", f"127.0.0.1:{upstream}", "--metrics-port",
                                    "0", "--log-level", "warning"),
                      log_path=prefix / "activator.log")
            procs.append(a)
            wait_port(act, proc=a)
            wait_ready(act, a)
            wrk(act, 1.0)  # warm-up: connections, pools, caches
            direct = wrk(upstream, args.seconds)
            nginx_runs, act_runs, cpu_per_req = alternate(proxy, act, a.pid, args.seconds,
                                                          args.rounds)
            via_nginx, via_act = max(nginx_runs), max(act_runs)
        finally:
            for p in reversed(procs):
                stop(p)
    print(f"nginx direct          {direct:10.0f} req/s")
    print(f"nginx reverse proxy   {via_nginx:10.0f} req/s")
    print(f"knpy activator        {via_act:10.0f} req/s")
    print(f"(rounds: nginx proxy {[round(x) for x in nginx_runs]}, "
          f"activator {[round(x) for x in act_runs]})")
    print(f"RESULT activator_rps {via_act:.0f} req/s")
    print(f"RESULT nginx_proxy_rps {via_nginx:.0f} req/s")
    print(f"RESULT activator_vs_nginx_proxy {via_act / via_nginx:.2f} x")
    # CPU the activator process spends per request (user + system): steadier than rates
    # on a shared machine.
    print(f"RESULT activator_cpu_per_request {min(cpu_per_req) * 1e6:.0f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
