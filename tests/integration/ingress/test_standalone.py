"""`python -m knpy.ingress --config FILE`: the gateway as a plain process on 127.0.0.1,
routing from a file with no API server."""

from __future__ import annotations

import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

import yaml

from tests.support.procs import free_port, python_module, running
from tests.unit.ingress.test_filesource import config


def test_the_process_routes_from_the_file(tmp_path: Path) -> None:
    class Hello(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = f"hello {self.headers['Host']}".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    up = ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    Thread(target=up.serve_forever, daemon=True).start()
    try:
        f = tmp_path / "c.yaml"
        f.write_text(yaml.safe_dump_all(config(up.server_address[1])))
        port = free_port()
        with running(python_module("knpy.ingress", "--config", str(f), "--host", "127.0.0.1",
                                   "--port", str(port), "--internal-port", "0",
                                   "--probe-port", "0"), port=port, ready_timeout=30):
            def get(host: str) -> tuple[int, str]:
                req = urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"Host": host})
                try:
                    with urllib.request.urlopen(req, timeout=10) as r:
                        return r.status, r.read().decode()
                except urllib.error.HTTPError as e:
                    return e.code, ""
            assert get("r.ns.example.com") == (200, "hello r.ns.example.com")
            assert get("o.ns.example.com")[0] == 404
    finally:
        up.shutdown()
