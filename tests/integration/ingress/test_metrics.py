"""The gateway's GET /metrics (probe port) after real requests through the process."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import yaml

from tests.integration.ingress.test_standalone import get, serve
from tests.support.procs import free_port, python_module, running
from tests.support.prom import Samples, parse, value
from tests.unit.ingress.test_filesource import config


def scrape(port: int) -> Samples:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return parse(r.read().decode())[0]


def test_requests_counted_and_timed_by_service_and_code_class(tmp_path: Path) -> None:
    up = serve()
    f = tmp_path / "c.yaml"
    f.write_text(yaml.safe_dump_all(config(up.server_address[1])))
    port, probe = free_port(), free_port()
    try:
        with running(python_module("knpy.ingress", "--config", str(f), "--host", "127.0.0.1",
                                   "--port", str(port), "--internal-port", "0",
                                   "--probe-port", str(probe)), port=port, ready_timeout=30):
            before = scrape(probe)
            for _ in range(3):
                assert get(port, "r.ns.example.com")[0] == 200
            for _ in range(2):
                assert get(port, "nowhere.example.com")[0] == 404
            after = scrape(probe)
    finally:
        up.shutdown()

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    routed = {"namespace": "ns", "service": "up"}
    assert moved("ingress_requests_total", **routed, response_code_class="2xx") == 3
    assert moved("ingress_request_duration_seconds_count", **routed,
                 response_code_class="2xx") == 3
    assert moved("ingress_request_duration_seconds_bucket", **routed,
                 response_code_class="2xx", le="+Inf") == 3
    assert moved("ingress_request_duration_seconds_sum", **routed,
                 response_code_class="2xx") > 0
    assert moved("ingress_requests_total", namespace="", service="",
                 response_code_class="4xx") == 2
    assert moved("ingress_requests_total") == 5  # nothing else counted
