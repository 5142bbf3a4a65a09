"""hack/deploy.py (`make deploy`) without a cluster: it refuses clearly when none runs, and
its pure parts: containerd's digests, the values that roll pods, the manifest comparison
that keeps a second run from changing anything, and the readiness verdict."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hack.deploy import (
    CHART_IMAGES,
    ClusterDown,
    deploy,
    digest_values,
    not_ready,
    parse_ctr_images,
    same_manifest,
)
from tests.support.procs import REPO

CTR_LS = """\
REF                            TYPE                                       DIGEST      SIZE
dev.local/knpy/controller:dev  application/vnd.oci.image.manifest.v1+json sha256:aaaa 88.1 MiB
dev.local/knpy/queue-proxy:dev application/vnd.oci.image.manifest.v1+json sha256:bbbb 60.0 MiB
sha256:cccc                    application/vnd.oci.image.manifest.v1+json sha256:aaaa 88.1 MiB
"""


def test_refuses_with_a_clear_message_when_no_cluster_runs(tmp_path: Path) -> None:
    with pytest.raises(ClusterDown, match="make cluster-up"):
        deploy(cluster_dir=tmp_path, build=False)
    # what `make cluster-down` or a crash leaves: the files, no API server
    (tmp_path / "mode").write_text("full\n")
    (tmp_path / "admin.kubeconfig").write_text("")
    (tmp_path / "pids").mkdir()
    (tmp_path / "pids" / "kube-apiserver.pid").write_text("999999999")
    with pytest.raises(ClusterDown, match="make cluster-up"):
        deploy(cluster_dir=tmp_path, build=False)


def test_the_command_exits_2_naming_make_cluster_up(tmp_path: Path) -> None:
    p = subprocess.run([sys.executable, "-m", "hack.deploy", "--no-build"], cwd=REPO,
                       env=dict(os.environ, KNPY_CLUSTER_DIR=str(tmp_path / "none")),
                       capture_output=True, text=True, timeout=60, check=False)
    assert p.returncode == 2, p.stderr
    assert "make cluster-up" in p.stderr


def test_containerd_listing_gives_each_refs_digest() -> None:
    assert parse_ctr_images(CTR_LS) == {"dev.local/knpy/controller:dev": "sha256:aaaa",
                                        "dev.local/knpy/queue-proxy:dev": "sha256:bbbb",
                                        "sha256:cccc": "sha256:aaaa"}
    assert parse_ctr_images("REF TYPE DIGEST SIZE PLATFORMS LABELS\n") == {}


def test_digests_are_set_only_for_the_charts_images_containerd_has() -> None:
    digests = parse_ctr_images(CTR_LS)
    assert digest_values(digests) == ["--set-string", "image.digests.controller=sha256:aaaa"]
    assert digest_values(digests, prefix="other/x") == []


def test_chart_images_are_the_ones_the_chart_runs() -> None:
    helm = Path.home() / ".cache" / "knpy" / "tools" / "bin" / "helm"
    if not helm.exists():
        pytest.skip("helm not installed: make kube-tools")
    from tests.unit.chart.test_knpy_chart import render
    images = {c["image"] for (kind, _), o in render().items()
              if kind in ("Deployment", "StatefulSet")
              for c in o["spec"]["template"]["spec"]["containers"]}
    assert images == {f"dev.local/knpy/{n}:dev" for n in CHART_IMAGES}


def test_manifests_compare_by_content_not_layout() -> None:
    a = "---\n# Source: x\nkind: A\nmetadata: {name: a}\n\n"
    assert same_manifest(a, "\n---  \n# Source: x\nkind: A\n\nmetadata: {name: a}")
    assert not same_manifest(a, a.replace("name: a", "name: b"))
    assert not same_manifest(a, a + "---\nkind: B\n")


def deployment(name: str, want: int = 1, gen: int = 1, **status: int) -> dict[str, Any]:
    st = {"observedGeneration": gen, "replicas": want, "updatedReplicas": want,
          "readyReplicas": want, **status}
    return {"kind": "Deployment", "metadata": {"name": name, "generation": gen},
            "spec": {"replicas": want}, "status": st}


def pod(name: str, ready: bool = True, **extra: Any) -> dict[str, Any]:
    p: dict[str, Any] = {"metadata": {"name": name}, "status": {
        "phase": "Running", "conditions": [{"type": "Ready",
                                            "status": "True" if ready else "False"}]}}
    p["metadata"].update(extra.pop("metadata", {}))
    p["status"].update(extra)
    return p


def test_ready_only_when_every_rollout_is_done_and_every_live_pod_ready() -> None:
    assert not_ready([deployment("c")], [pod("c-1")]) == []
    # a terminating pod of the old ReplicaSet does not count; a finished one neither
    assert not_ready([deployment("c")], [pod("c-1"), pod("c-0", ready=False, metadata={
        "deletionTimestamp": "2026-01-01T00:00:00Z"}), pod("j", ready=False,
                                                          phase="Succeeded")]) == []
    assert not_ready([], []) == ["no knpy pod yet"]
    assert not_ready([deployment("c", gen=2, observedGeneration=1)], [pod("c-1")]) == [
        "deployment/c: new spec not yet observed"]
    assert not_ready([deployment("c", want=2, readyReplicas=1)], [pod("c-1")]) == [
        "deployment/c: 1/2 ready, 2 updated"]
    assert not_ready([deployment("c", replicas=2)], [pod("c-1")]) == [
        "deployment/c: 1 old pod(s) still there"]
    why = not_ready([deployment("c")], [pod("c-1", ready=False, containerStatuses=[
        {"state": {"waiting": {"reason": "ErrImageNeverPull"}}}])])
    assert why == ["pod/c-1: not Ready (Running, ErrImageNeverPull)"]
