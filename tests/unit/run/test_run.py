"""hack/run.py (`make run`) without a cluster: which cluster KUBECONFIG selects, the sample
manifests, the readiness verdict, the printed instructions, the state `make stop` reads,
and a step's progress, log and failure message."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import hack.run as run
from hack.run import (
    Endpoints,
    Images,
    State,
    StepFailed,
    external_kubeconfig,
    helm_value,
    instructions,
    is_ready,
    load_state,
    manifest,
    record,
    samples,
    save_state,
    step,
    stop,
    via_ip,
)
from tests.support.procs import REPO

HARNESS = Path("/cache/cluster/admin.kubeconfig")


# ---------------------------------------------------------------- KUBECONFIG
def test_unset_or_empty_kubeconfig_means_the_local_cluster() -> None:
    assert external_kubeconfig({}, HARNESS) is None
    assert external_kubeconfig({"KUBECONFIG": ""}, HARNESS) is None


def test_the_harness_kubeconfig_means_the_local_cluster(tmp_path: Path) -> None:
    harness = tmp_path / "cluster" / "admin.kubeconfig"
    harness.parent.mkdir()
    harness.write_text("")
    assert external_kubeconfig({"KUBECONFIG": str(harness)}, harness) is None
    link = tmp_path / "kc"
    link.symlink_to(harness)  # the same file under another name
    assert external_kubeconfig({"KUBECONFIG": str(link)}, harness) is None


def test_another_kubeconfig_is_external_and_a_list_starts_with_its_first() -> None:
    assert external_kubeconfig({"KUBECONFIG": "/home/u/.kube/config"}, HARNESS) == \
        Path("/home/u/.kube/config")
    assert external_kubeconfig({"KUBECONFIG": f"/a/kc{os.pathsep}{HARNESS}"}, HARNESS) == \
        Path("/a/kc")
    assert external_kubeconfig({"KUBECONFIG": f"{os.pathsep}/b/kc"}, HARNESS) == Path("/b/kc")


# ---------------------------------------------------------------- images from helm flags
def test_helm_value_reads_set_flags_in_every_spelling_last_one_wins() -> None:
    args = ["--set", "image.registry=ghcr.io/a", "--set-string=image.tag=1.0",
            "--set", "x=1,image.registry=ghcr.io/b", "--wait"]
    assert helm_value(args, "image.registry") == "ghcr.io/b"
    assert helm_value(args, "image.tag") == "1.0"
    assert helm_value(args, "image.pullPolicy") is None
    assert helm_value(["--set"], "image.tag") is None  # a dangling flag is not a value


def test_an_external_cluster_pulls_the_samples_from_the_charts_registry() -> None:
    img = Images.from_helm_args(["--set", "image.registry=ghcr.io/me/knpy",
                                 "--set", "image.tag=0.2.0"])
    assert img.ref("helloworld") == "ghcr.io/me/knpy/helloworld:0.2.0"
    assert img.pull_policy == "IfNotPresent"
    local = Images()
    assert local.ref("event-display") == "dev.local/knpy/event-display:dev"
    assert local.pull_policy == "Never"  # imported, nothing to pull from


# ---------------------------------------------------------------- the samples
def by_kind(objs: list[dict]) -> dict[str, dict]:
    return {f"{o['kind']}/{o['metadata']['name']}": o for o in objs}


def test_samples_are_the_seed_ksvc_a_broker_and_a_trigger_to_the_display() -> None:
    objs = by_kind(samples(Images()))
    assert set(objs) == {"Service/helloworld-go", "Deployment/event-display",
                         "Service/event-display", "Broker/default", "Trigger/event-display"}
    assert {o["metadata"]["namespace"] for o in objs.values()} == {"default"}
    ksvc = objs["Service/helloworld-go"]
    assert ksvc["apiVersion"] == "serving.knative.dev/v1"
    (c,) = ksvc["spec"]["template"]["spec"]["containers"]
    assert c["image"] == "dev.local/knpy/helloworld:dev"
    assert c["env"] == [{"name": "TARGET", "value": "World"}]
    assert c["ports"] == [{"name": "http1", "containerPort": 8080}]
    (d,) = objs["Deployment/event-display"]["spec"]["template"]["spec"]["containers"]
    assert d["image"] == "dev.local/knpy/event-display:dev"
    assert d["imagePullPolicy"] == "Never"
    svc = objs["Service/event-display"]["spec"]
    assert svc["selector"] == objs["Deployment/event-display"]["spec"]["selector"]["matchLabels"]
    assert svc["ports"] == [{"port": 80, "targetPort": 8080}]
    trigger = objs["Trigger/event-display"]["spec"]
    assert trigger["broker"] == "default"
    assert "filter" not in trigger  # every event
    assert trigger["subscriber"]["ref"] == {"apiVersion": "v1", "kind": "Service",
                                            "name": "event-display"}


def test_the_manifest_is_one_list_kubectl_applies() -> None:
    doc = json.loads(manifest(samples(Images())))
    assert (doc["apiVersion"], doc["kind"]) == ("v1", "List")
    assert len(doc["items"]) == 5


def test_ready_means_ready_true_for_the_current_generation() -> None:
    ready = {"type": "Ready", "status": "True"}
    assert is_ready({"metadata": {"generation": 2},
                     "status": {"observedGeneration": 2, "conditions": [ready]}})
    assert not is_ready({"metadata": {"generation": 3},  # about the previous spec
                         "status": {"observedGeneration": 2, "conditions": [ready]}})
    assert is_ready({"metadata": {"generation": 1}, "status": {"conditions": [ready]}})
    assert not is_ready({"metadata": {}, "status": {"conditions": [
        {"type": "Ready", "status": "Unknown"}, {"type": "Other", "status": "True"}]}})
    assert not is_ready({"metadata": {}})


# ---------------------------------------------------------------- instructions
BROKER_URL = "http://broker-ingress.knpy-system.svc.cluster.local/default/default"


def test_via_ip_keeps_path_and_port_and_returns_the_host() -> None:
    assert via_ip(BROKER_URL, "10.96.0.7") == (
        "http://10.96.0.7/default/default", "broker-ingress.knpy-system.svc.cluster.local")
    assert via_ip("http://svc.ns:8080/a/b", "10.0.0.1") == ("http://10.0.0.1:8080/a/b",
                                                           "svc.ns:8080")


def test_local_instructions_serve_send_an_event_and_watch_scale_to_zero() -> None:
    text = instructions(Endpoints("/c/admin.kubeconfig", "helloworld-go.default.example.com",
                                  BROKER_URL, "10.96.0.7", "10.96.0.9"))
    hello = "curl -H 'Host: helloworld-go.default.example.com' http://127.0.0.1:31080/"
    assert text.count(hello) == 2  # served, and again after scaling to zero
    assert "export KUBECONFIG=/c/admin.kubeconfig" in text
    assert "curl -i -X POST http://10.96.0.7/default/default " \
           "-H 'Host: broker-ingress.knpy-system.svc.cluster.local'" in text
    assert "-H 'ce-specversion: 1.0'" in text and "-H 'ce-type: com.example.hello'" in text
    assert "kubectl logs -n default deploy/event-display" in text
    assert "curl http://10.96.0.9/events" in text
    assert "kubectl get pods -n default -l serving.knative.dev/service=helloworld-go -w" in text
    assert "port-forward" not in text
    assert "make stop" in text


def test_external_instructions_go_through_port_forwards() -> None:
    text = instructions(Endpoints("/home/u/.kube/config", "helloworld-go.default.example.com",
                                  BROKER_URL, None, None))
    assert "kubectl port-forward -n knpy-system svc/knpy-ingress 8080:80" in text
    assert "curl -H 'Host: helloworld-go.default.example.com' http://127.0.0.1:8080/" in text
    assert "curl -i -X POST http://127.0.0.1:8081/default/default" in text
    assert "kubectl port-forward -n default svc/event-display 8082:80" in text
    assert "31080" not in text


# ---------------------------------------------------------------- state for `make stop`
def test_state_round_trips_and_an_unreadable_file_is_no_state(tmp_path: Path) -> None:
    path = tmp_path / "run" / "state.json"
    assert load_state(path) is None
    s = State("/c/admin.kubeconfig", local=True, started_cluster=True)
    save_state(s, path)
    assert load_state(path) == s
    path.write_text("{not json")
    assert load_state(path) is None
    path.write_text('{"unknown": 1}')
    assert load_state(path) is None


def test_a_second_run_keeps_what_the_first_started(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    record(State("/c/kc", local=True, started_cluster=True, installed_release=True), path)
    # the second run found the cluster up and the release there
    record(State("/c/kc", local=True), path)
    assert load_state(path) == State("/c/kc", True, started_cluster=True,
                                     installed_release=True)
    # another cluster: what the old one had says nothing about it
    record(State("/x/kc", local=False), path)
    assert load_state(path) == State("/x/kc", False)


def test_stop_without_state_does_nothing(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    stop(tmp_path / "state.json")
    assert "nothing to stop" in capsys.readouterr().out


# ---------------------------------------------------------------- progress
def test_a_step_logs_stderr_beats_while_it_runs_and_reports_its_time(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run, "HEARTBEAT", 0.05)
    with step("build: something long", tmp_path) as log:
        print("tool output", file=sys.stderr)
        subprocess.run(["sh", "-c", "echo child output >&2"], check=True, timeout=10)
        time.sleep(0.3)
    out = capsys.readouterr().out
    assert f"build: something long ... (log: {log})" in out
    assert "... build: 0s" in out  # the heartbeat
    assert "build: done (" in out
    assert log == tmp_path / "build.log"
    assert log.read_text().splitlines() == ["tool output", "child output"]


def test_a_failed_step_names_itself_and_its_log_and_restores_stderr(tmp_path: Path) -> None:
    before = os.fstat(2)
    with pytest.raises(StepFailed) as e, step("deploy: install", tmp_path):
        raise run.KubeError("helm upgrade failed (1): boom\nmore detail")
    msg = str(e.value)
    assert msg.startswith("step 'deploy: install' failed after ")
    assert "helm upgrade failed (1): boom" in msg and "more detail" not in msg
    assert f"log: {tmp_path / 'deploy.log'}" in msg
    assert e.value.log == tmp_path / "deploy.log"
    assert "more detail" in (tmp_path / "deploy.log").read_text()  # the whole error
    assert os.fstat(2) == before


# ---------------------------------------------------------------- make
def test_make_run_runs_hack_run_and_the_loopback_stack_is_run_local() -> None:
    def recipe(target: str, *extra: str) -> str:
        return subprocess.run(["make", "-n", "-C", str(REPO), "--no-print-directory",
                               "-o", ".venv/.installed", "-o", "kube-tools", "-o", "sysdeps",
                               "-o", "setup", target, *extra], capture_output=True,
                              text=True, timeout=60, check=True).stdout
    assert "-m hack.run -- --set image.registry=r" in recipe(
        "run", "RUN_ARGS=--set image.registry=r")
    assert "-m hack.run --stop" in recipe("stop")
    assert "-m hack.run_local" in recipe("run-local")


# ---------------------------------------------------------------- the command
def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m hack.run` with its cache (cluster dir, state file) in tmp_path."""
    env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "KNPY_CLUSTER_DIR")}
    env.update(KNPY_CACHE=str(tmp_path),
               PYTHONPATH=os.pathsep.join([str(REPO / "components"), str(REPO)]))
    return subprocess.run([sys.executable, "-m", "hack.run", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def test_no_deploy_without_a_local_cluster_fails_saying_so(tmp_path: Path) -> None:
    p = run_cli(tmp_path, "--no-deploy")
    assert p.returncode == 1
    assert f"--no-deploy: no local cluster runs in {tmp_path / 'cluster'}" in p.stderr
    assert not (tmp_path / "run" / "state.json").exists()


def test_make_stop_with_nothing_started_says_so(tmp_path: Path) -> None:
    p = run_cli(tmp_path, "--stop")
    assert p.returncode == 0
    assert f"nothing to stop: no {tmp_path / 'run' / 'state.json'}" in p.stdout
