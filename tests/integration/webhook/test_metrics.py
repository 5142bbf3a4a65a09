"""The webhook process (standalone: its own certificate, no API server) counts and times
the AdmissionReviews it answers, on its plain-HTTP --metrics-port."""

from __future__ import annotations

import json
import ssl
from pathlib import Path

import aiohttp

from tests.support.procs import free_port, python_module, running, wait_port
from tests.support.prom import scrape, value
from tests.unit.webhook.test_admission import review, trig


async def test_reviews_counted_by_webhook_and_verdict(tmp_path: Path, logdir: Path) -> None:
    port, mport, ca = free_port(), free_port(), tmp_path / "ca.pem"
    args = python_module("knpy.webhook", "--standalone", "--host", "127.0.0.1", "--port",
                         str(port), "--san", "127.0.0.1", "--ca-out", str(ca),
                         "--metrics-port", str(mport))
    with running(args, port=port, log_path=logdir / "webhook.log", ready_timeout=30) as proc:
        wait_port(mport, timeout=10, proc=proc)
        tls = ssl.create_default_context(cafile=str(ca))
        base = f"https://127.0.0.1:{port}"
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as s:
            before = await scrape(s, f"http://127.0.0.1:{mport}/metrics")
            bodies = [("/validation", review(trig())), ("/validation", review(trig())),
                      ("/validation", review(trig(broker=""))),
                      ("/defaulting", review(trig()))]
            verdicts = []
            for path, body in bodies:
                async with s.post(base + path, data=json.dumps(body), ssl=tls) as r:
                    assert r.status == 200
                    verdicts.append((await r.json())["response"]["allowed"])
            assert verdicts == [True, True, False, True]
            async with s.post(base + "/validation", data=b"not json", ssl=tls) as r:
                assert r.status == 400
            after = await scrape(s, f"http://127.0.0.1:{mport}/metrics")

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("webhook_admission_requests_total", webhook="validation", allowed="true",
                 response_code="200") == 2
    assert moved("webhook_admission_requests_total", webhook="validation", allowed="false",
                 response_code="200") == 1
    assert moved("webhook_admission_requests_total", webhook="validation", allowed="",
                 response_code="400") == 1
    assert moved("webhook_admission_requests_total", webhook="defaulting") == 1
    assert moved("webhook_admission_duration_seconds_count", webhook="validation") == 4
    assert moved("webhook_admission_duration_seconds_bucket", webhook="defaulting",
                 le="+Inf") == 1
