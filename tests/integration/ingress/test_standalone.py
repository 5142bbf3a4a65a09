"""`python -m knpy.ingress --config FILE`: the gateway as a plain process on 127.0.0.1,
routing from a file with no API server."""

from __future__ import annotations

import signal
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

import yaml

from tests.support.procs import free_port, python_module, running, spawn, stop, wait_port
from tests.unit.ingress.test_filesource import config


class Upstream(BaseHTTPRequestHandler):
    """Answers `hello <Host>`, after 3 s for paths under /slow."""

    def do_GET(self) -> None:
        if self.path.startswith("/slow"):
            time.sleep(3)
        body = f"hello {self.headers['Host']}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


def serve(port: int = 0) -> ThreadingHTTPServer:
    up = ThreadingHTTPServer(("127.0.0.1", port), Upstream)
    Thread(target=up.serve_forever, daemon=True).start()
    return up


@contextmanager
def gateway(tmp_path: Path, docs: list[dict]) -> Iterator[int]:
    f = tmp_path / "c.yaml"
    f.write_text(yaml.safe_dump_all(docs))
    port = free_port()
    with running(python_module("knpy.ingress", "--config", str(f), "--host", "127.0.0.1",
                               "--port", str(port), "--internal-port", "0",
                               "--probe-port", "0"), port=port, ready_timeout=30):
        yield port


def get(port: int, host: str, target: str = "/") -> tuple[int, str]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{target}", headers={"Host": host})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_the_process_routes_from_the_file(tmp_path: Path) -> None:
    up = serve()
    try:
        with gateway(tmp_path, config(up.server_address[1])) as port:
            assert get(port, "r.ns.example.com") == (200, "hello r.ns.example.com")
            assert get(port, "o.ns.example.com")[0] == 404
    finally:
        up.shutdown()


def test_path_timeout_and_retries_on_connect_failure(tmp_path: Path) -> None:
    """A KIngress path's `timeout` answers 504 once it passes with no response; its
    `retries.attempts` re-dial a split whose connect failed (here: a server that starts
    listening only after the request arrived), and without retries the request gets 502."""
    up = serve()
    late_port = free_port()

    def path(port: int, **extra: object) -> dict:
        return {"splits": [{"serviceName": "up", "serviceNamespace": "ns",
                            "servicePort": port, "percent": 100}], **extra}

    def kingress(name: str, paths: list[dict]) -> dict:
        return {"apiVersion": "networking.internal.knative.dev/v1alpha1", "kind": "Ingress",
                "metadata": {"name": name, "namespace": "ns"},
                "spec": {"rules": [{"hosts": [f"{name}.example.com"],
                                    "visibility": "ExternalIP", "http": {"paths": paths}}]}}

    docs = [kingress("t", [path(up.server_address[1], path="/slow", timeout="300ms"),
                           path(up.server_address[1])]),
            kingress("retry", [path(late_port, retries={"attempts": 6,
                                                         "perTryTimeout": "1s"})]),
            kingress("once", [path(late_port)]),
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "up", "namespace": "ns"},
             "spec": {"type": "ExternalName", "externalName": "127.0.0.1"}}]
    late: ThreadingHTTPServer | None = None
    try:
        with gateway(tmp_path, docs) as port:
            t0 = time.monotonic()
            assert get(port, "t.example.com", "/slow") == (504, "upstream request timeout")
            assert time.monotonic() - t0 < 2.5
            # other paths: no limit
            assert get(port, "t.example.com", "/fast") == (200, "hello t.example.com")
            # nothing listens on late_port yet: no retries, 502 at once
            assert get(port, "once.example.com")[0] == 502

            def listen_late() -> None:
                nonlocal late
                time.sleep(0.1)
                late = serve(late_port)
            Thread(target=listen_late, daemon=True).start()
            # retried 25, 50, 100, 200, 400 ms apart: reaches the server once it listens
            assert get(port, "retry.example.com") == (200, "hello retry.example.com")
    finally:
        up.shutdown()
        if late is not None:
            late.shutdown()


def test_sigterm_keeps_accepting_through_the_quiet_period(tmp_path: Path) -> None:
    """A terminating gateway still gets new connections for a moment (the node's Service
    rules lag the endpoints): it answers them, each response ending its connection, and
    /readyz fails; it exits once no request came for the quiet period."""
    up = serve()
    f = tmp_path / "c.yaml"
    f.write_text(yaml.safe_dump_all(config(up.server_address[1])))
    port, probes = free_port(), free_port()
    proc = spawn(python_module("knpy.ingress", "--config", str(f), "--host", "127.0.0.1",
                               "--port", str(port), "--internal-port", "0",
                               "--probe-port", str(probes), "--drain-quiet-period", "2"),
                 log_path=tmp_path / "gw.log")
    try:
        wait_port(port, timeout=30, proc=proc)
        assert get(port, "r.ns.example.com") == (200, "hello r.ns.example.com")
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        for _ in range(6):  # 3 s of requests, each on a new connection: none refused
            time.sleep(0.5)
            req = urllib.request.Request(f"http://127.0.0.1:{port}/",
                                         headers={"Host": "r.ns.example.com"})
            with urllib.request.urlopen(req, timeout=10) as r:
                assert (r.status, r.headers["Connection"]) == (200, "close")
        ready = get_status(f"http://127.0.0.1:{probes}/readyz")
        assert ready == (503, "draining"), ready
        assert proc.poll() is None, "exited while requests still came"
        # then quiet: it exits about 2 s after the last request
        assert proc.wait(timeout=15) == 0, (tmp_path / "gw.log").read_text()
        assert time.monotonic() - t0 >= 3 + 2 - 0.5
    finally:
        stop(proc)
        up.shutdown()


def get_status(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode().strip()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode().strip()
