"""Scale-down under load through the activator, as the kubelet deletes pods: no request fails.

Three pods (the cluster's helloworld sample app behind a queue-proxy each), the activator
reading its backends from a file, and a bounded load. Two pods then go the way the kubelet
takes them: the user container's preStop hook and the queue-proxy's SIGTERM at once, the
endpoints losing the pods a moment later, and the user container's SIGTERM once its hook
returned (issue 10, acceptance 5, at process level). The hook's URL is the one the local
cluster's kubelet (1.20) builds: `http://<ip>:8022/` + `/wait-for-drain`."""

from __future__ import annotations

import signal
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.integration.activator.conftest import ROUTE, Stack, write_config
from tests.support.httpload import Load
from tests.support.poll import wait_until
from tests.support.procs import REPO, free_port

HELLOWORLD = REPO / "hack" / "images" / "helloworld" / "app.py"
QUIET = "2"  # the queue-proxy's drain quiet period (30 s on the cluster)
ENDPOINTS_LAG = 0.5  # from the pod's deletion to the activator dropping it


def _revision(backends: list[str]) -> list[dict[str, Any]]:
    return [{"name": "hello", "backends": backends}]


def _pod(stack: Stack) -> dict[str, Any]:
    app = free_port()
    proc = stack._start(f"app-{app}", [sys.executable, str(HELLOWORLD)], app,
                        env={"PORT": str(app)})
    qp = stack.queue_proxy_ports(app, env={"QUEUE_DRAIN_QUIET_PERIOD_SECONDS": QUIET})
    return {**qp, "app": proc, "dest": f"127.0.0.1:{qp['QUEUE_SERVING_PORT']}"}


def _prestop(pod: dict[str, Any], log: list[str]) -> threading.Thread:
    """The user container's preStop hook, then its SIGTERM (as the kubelet runs them)."""
    def run() -> None:
        url = f"http://127.0.0.1:{pod['QUEUE_ADMIN_PORT']}//wait-for-drain"
        t0 = time.monotonic()
        try:
            with urllib.request.urlopen(url, timeout=60) as r:
                log.append(f"preStop {r.status} after {time.monotonic() - t0:.1f}s")
        except OSError as e:
            log.append(f"preStop failed after {time.monotonic() - t0:.1f}s: {e!r}")
        pod["app"].send_signal(signal.SIGTERM)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def test_pods_deleted_under_load_drain_without_failures(stack: Stack, tmp_path: Path) -> None:
    pods = [_pod(stack) for _ in range(3)]
    cfg = tmp_path / "activator.yaml"
    write_config(cfg, _revision([p["dest"] for p in pods]))
    port, _ = stack.activator("--config", str(cfg))
    wait_until(lambda: _get(port) == 200, 15, "the activator serving")
    load = Load(f"http://127.0.0.1:{port}/?sleep=50", workers=4, duration=60,
                max_requests=20000, headers=ROUTE, request_timeout=20).start()
    log: list[str] = []
    try:
        time.sleep(1.5)  # connections to all three pods pooled and reused
        hooks = [_prestop(p, log) for p in pods[1:]]
        for p in pods[1:]:
            p["proc"].send_signal(signal.SIGTERM)
        time.sleep(ENDPOINTS_LAG)
        write_config(cfg, _revision([pods[0]["dest"]]))  # the pods leave the endpoints
        for h in hooks:
            h.join(30)
        for p in pods[1:]:
            wait_until(lambda p=p: p["proc"].poll() is not None, 30, "queue-proxy exited")
        time.sleep(0.5)
    finally:
        load.stop()
        load.join()
    assert load.outcomes[200] > 50, dict(load.outcomes)
    assert load.failed == 0, (dict(load.outcomes), load.errors, log)
    # the hook answers once its queue-proxy drained (no earlier, no failure)
    assert len(log) == 2 and all(line.startswith("preStop 200") for line in log), log
    assert all(p["proc"].returncode == 0 for p in pods[1:])


def _get(port: int) -> int:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/", headers=ROUTE)
    try:
        with urllib.request.urlopen(req, timeout=2) as r:
            return r.status
    except OSError:
        return 0
