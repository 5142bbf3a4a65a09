"""The autoscaler as a real process: scraping pods, websocket stats, API, metrics, config
errors at start."""

from __future__ import annotations

import signal
import subprocess
import sys

import aiohttp
import yaml

from knpy.runtime.contract.stat import Stat
from knpy.runtime.contract.wirestat import WireStatMessage, encode_wire_stats
from tests.support.poll import eventually
from tests.support.procs import python_module
from tests.support.prom import scrape, value

TARGET_1 = {"autoscaling.knative.dev/target": "1",
            "autoscaling.knative.dev/target-utilization-percentage": "100"}
# A 6 s stable window with a 3 s panic window (10 % of 6 s would be a 1 s window, which
# reads 0 whenever the decision comes before that second's scrape, as in Knative).
FAST = {"stable-window": "6s", "panic-window-percentage": "50",
        "scale-to-zero-grace-period": "6s"}


async def test_scrapes_real_pods_and_exposes_the_decision(start_autoscaler, statpods) -> None:
    (_, m1), (_, m2) = statpods(5.0), statpods(3.0)
    a = start_autoscaler({"config": FAST, "revisions": [{
        "namespace": "ns", "name": "scraped", "annotations": TARGET_1,
        "pods": [f"127.0.0.1:{m1}", f"127.0.0.1:{m2}"]}]})
    async with aiohttp.ClientSession() as s:
        st = await a.wait_for(s, "ns/scraped", lambda st: st["desiredScale"] == 8, 15,
                              "desired scale 8 from 5 + 3 concurrent requests at target 1")
        assert st["stableAverage"] == 8.0 and st["panicAverage"] == 8.0
        assert st["readyPods"] == 2 and st["scrapeError"] == ""
        # EBC = floor(2 pods x 1 - TBC 211 - 8)
        assert st["excessBurstCapacity"] == 2 * 1 - 211 - 8
        assert st["mode"] == "Proxy"  # negative EBC keeps the activator in the path
        # panic: 8 needed / 2 ready = 4 >= 2.0 threshold
        assert st["panicMode"] is True
        samples = await scrape(s, f"{a.base}/metrics")
        rev = {"namespace_name": "ns", "revision_name": "scraped"}
        for name, want in (("autoscaler_desired_pods", 8), ("autoscaler_actual_pods", 2),
                           ("autoscaler_ready_pods", 2), ("autoscaler_not_ready_pods", 0),
                           ("autoscaler_panic_mode", 1),
                           ("autoscaler_stable_request_concurrency", 8),
                           ("autoscaler_panic_request_concurrency", 8),
                           ("autoscaler_excess_burst_capacity", 2 * 1 - 211 - 8),
                           ("autoscaler_target_concurrency_per_pod", 1)):
            assert value(samples, name, **rev) == want, name
        assert ("autoscaler_stable_requests_per_second",
                frozenset(rev.items())) not in samples  # a concurrency-scaled revision
        async with s.get(f"{a.base}/api/v1/revisions") as resp:
            assert [r["name"] for r in (await resp.json())["revisions"]] == ["scraped"]


async def test_websocket_stats_poke_a_revision_at_zero(start_autoscaler) -> None:
    a = start_autoscaler({"config": {**FAST, "allow-zero-initial-scale": "true",
                                     "initial-scale": "0"},
                          "revisions": [{"name": "cold", "annotations": TARGET_1, "pods": []}]})
    frame = encode_wire_stats([WireStatMessage("default", "cold", Stat(
        pod_name="activator-0", average_concurrent_requests=3.0, request_count=3.0))])
    async with aiohttp.ClientSession() as s:
        st = await a.status(s, "default/cold")
        assert st["desiredScale"] == -1 and st["activation"] == "Inactive"
        async with s.ws_connect(f"ws://127.0.0.1:{a.port}/") as ws:
            await ws.send_bytes(b"\x0a\xff")          # a truncated frame: logged, skipped
            await ws.send_str("not a stat")            # text frames are ignored
            await ws.send_bytes(frame)
            # The poke decides at once, well before the next 2 s tick could.
            st = await a.wait_for(s, "default/cold", lambda st: st["desiredScale"] == 3, 1.5,
                                  "an immediate decision from the activator's stats")
            assert st["appliedScale"] == 3
            # A frame for an unknown revision is ignored, the stream stays up.
            await ws.send_bytes(encode_wire_stats([WireStatMessage("x", "y", Stat())]))
            await ws.send_bytes(frame)
        log = a.log.read_text()
        assert "bad stats frame" in log and "ignoring text frame" in log


async def test_register_and_unregister_over_http(start_autoscaler, statpods) -> None:
    _, metrics = statpods(2.0)
    _, metrics2 = statpods(1.0)
    a = start_autoscaler({"config": FAST})
    url = f"{a.base}/api/v1/revisions/ns/api-rev"
    async with aiohttp.ClientSession() as s:
        async with s.put(url, json={"annotations": {"autoscaling.knative.dev/target": "0"},
                                    "pods": []}) as resp:
            assert resp.status == 400
            assert "annotations[autoscaling.knative.dev/target]" in await resp.text()
        async with s.put(url, data=b"{") as resp:
            assert resp.status == 400 and "not JSON" in await resp.text()
        # Command lines from the network are refused unless the operator opted in.
        async with s.put(url, json={"process": {"user": ["sh", "-c", "echo pwned"]}}) as resp:
            assert resp.status == 403
            assert "--allow-api-process-targets" in await resp.text()
        async with s.put(url, json={"annotations": TARGET_1,
                                    "pods": [f"127.0.0.1:{metrics}"]}) as resp:
            assert resp.status == 201
        await a.wait_for(s, "ns/api-rev", lambda st: st["desiredScale"] == 2, 10,
                         "desired 2 from a pod reporting 2")
        # Re-registering updates the pod list (the controller does this as endpoints change).
        async with s.put(url, json={"annotations": TARGET_1, "pods": [
                f"127.0.0.1:{metrics}", f"127.0.0.1:{metrics2}"]}) as resp:
            assert resp.status == 200
        await a.wait_for(s, "ns/api-rev", lambda st: st["readyPods"] == 2
                         and st["stableAverage"] == 3.0, 20, "two pods scraped, 2 + 1")
        async with s.put(url, json={"annotations": {**TARGET_1,
                                                    "autoscaling.knative.dev/max-scale": "1"},
                                    "pods": [f"127.0.0.1:{metrics}"]}) as resp:
            assert resp.status == 200
        await a.wait_for(s, "ns/api-rev", lambda st: st["appliedScale"] == 1, 10,
                         "max-scale 1 applied")
        async with s.delete(url) as resp:
            assert resp.status == 204
        async with s.get(url) as resp:
            assert resp.status == 404


def test_bad_config_fails_at_start_naming_the_field(tmp_path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("config:\n  max-scale-down-rate: '1'\nrevisions:\n- name: r\n  pods: [5]\n")
    proc = subprocess.run(python_module("knpy.autoscaler", "--port", "1", "--config", str(cfg)),
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert "config.config-autoscaler[max-scale-down-rate]" in proc.stderr
    cfg.write_text("revisions:\n- name: r\n  pods: [5]\n")
    proc = subprocess.run([sys.executable, "-m", "knpy.autoscaler", "--config", str(cfg)],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2 and "revisions[0].pods[0]" in proc.stderr
    proc = subprocess.run(python_module("knpy.autoscaler", "--port", "70000"),
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2 and "--port" in proc.stderr




async def test_sighup_reloads_the_file_live(start_autoscaler, statpods, tmp_path) -> None:
    _, metrics = statpods(4.0)
    target_4 = {**TARGET_1, "autoscaling.knative.dev/target": "4"}
    a = start_autoscaler({"config": FAST, "revisions": [
        {"name": "one", "annotations": target_4, "pods": [f"127.0.0.1:{metrics}"]}]})
    cfg = next(tmp_path.glob("autoscaler-*.yaml"))
    async with aiohttp.ClientSession() as s:
        await a.wait_for(s, "default/one", lambda st: st["desiredScale"] == 1, 10, "1 pod")
        async with s.put(f"{a.base}/api/v1/revisions/api/kept", json={"pods": []}) as resp:
            assert resp.status == 201
        # A bad file changes nothing.
        cfg.write_text("config:\n  stable-window: nope\n")
        a.proc.send_signal(signal.SIGHUP)
        await eventually(lambda: "reload of" in a.log.read_text(), 10, "the reload rejected")
        assert (await a.status(s, "default/one"))["target"] == 4
        # Target 1 quadruples the want; "two" appears; "one" stays; the HTTP one is kept.
        cfg.write_text(yaml.safe_dump({"config": FAST, "revisions": [
            {"name": "one", "annotations": TARGET_1, "pods": [f"127.0.0.1:{metrics}"]},
            {"name": "two", "pods": []}]}))
        a.proc.send_signal(signal.SIGHUP)
        await a.wait_for(s, "default/one", lambda st: st["desiredScale"] == 4, 10,
                         "the new target applied without a restart")
        async with s.get(f"{a.base}/api/v1/revisions") as resp:
            names = [r["name"] for r in (await resp.json())["revisions"]]
        assert names == ["kept", "one", "two"]
        cfg.write_text(yaml.safe_dump({"config": FAST, "revisions": []}))
        a.proc.send_signal(signal.SIGHUP)

        async def only_the_http_one_left() -> bool:
            async with s.get(f"{a.base}/api/v1/revisions") as resp:
                return [r["name"] for r in (await resp.json())["revisions"]] == ["kept"]
        await eventually(only_the_http_one_left, 10, "the file's revisions removed")
