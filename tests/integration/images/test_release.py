"""`make release` for one image, through the same path (hack/release.py ->
hack/images.sh archive -> buildah): the archive, the packaged chart and their checksums land
in the folder given, and the archive's OCI image config carries the labels, a non-root user
and the component's entrypoint.

Needs buildah (`make cluster-sysdeps`, which `make integration` runs) and helm (`make
kube-tools`). The release under test must come from cached layers, the case where stale
labels would show: after `make images` (as in `make test`) the cache already holds the
image with other labels, so it releases once (~2 min); otherwise it first releases another
version to fill the cache (on a cold cache the builder stage compiles knpy first, ~2.5 min
more), hence the time bound.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from hack.oci_archive import image_config, ref_name
from tests.support.cluster import TOOLS_BIN
from tests.support.procs import REPO

VERSION = "0.0.0-test.1"
REGISTRY = "release.test/knpy"
IMAGE = "queue-proxy"
BUILD_TIMEOUT = 1500

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2 * BUILD_TIMEOUT + 120)]


def release(out: Path, version: str) -> None:
    p = subprocess.run([sys.executable, "-m", "hack.release", "--out", str(out),
                        "--registry", REGISTRY, "--image", IMAGE, "--", version],
                       cwd=REPO, capture_output=True, text=True, timeout=BUILD_TIMEOUT,
                       check=False)
    assert p.returncode == 0, p.stderr[-3000:]


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("buildah") is None:
        pytest.fail("buildah is missing: run `make cluster-sysdeps` first", pytrace=False)
    if not (TOOLS_BIN / "helm").exists():
        pytest.fail("helm is missing: run `make kube-tools` first", pytrace=False)
    # An earlier build with other label values first (`make images` is one): every layer
    # of the one under test then comes from the cache, and its labels must still be its own.
    built = subprocess.run([REPO / "hack/images.sh", "has", IMAGE], cwd=REPO,
                           capture_output=True, timeout=BUILD_TIMEOUT, check=False)
    if built.returncode != 0:
        release(tmp_path_factory.mktemp("earlier"), "0.0.0-test.0")
    out = tmp_path_factory.mktemp("dist")
    release(out, VERSION)
    return out


@pytest.fixture(scope="module")
def config(released: Path) -> dict[str, Any]:
    return image_config(released / f"{IMAGE}-{VERSION}.tar")


def test_release_holds_the_archive_the_chart_and_their_checksums(released: Path) -> None:
    assert sorted(p.name for p in released.iterdir()) == [
        "SHA256SUMS", f"knpy-{VERSION}.tgz", f"{IMAGE}-{VERSION}.tar"]
    check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=released,
                           capture_output=True, text=True, timeout=120, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    assert len(check.stdout.splitlines()) == 2


def test_archive_is_tagged_with_the_version(released: Path) -> None:
    assert ref_name(released / f"{IMAGE}-{VERSION}.tar") == f"{REGISTRY}/{IMAGE}:{VERSION}"


def test_image_carries_the_oci_labels(config: dict[str, Any]) -> None:
    labels = config["config"]["Labels"]
    oci = {k.removeprefix("org.opencontainers.image."): v for k, v in labels.items()
           if k.startswith("org.opencontainers.image.")}
    assert oci["title"] == f"knpy-{IMAGE}"
    assert oci["version"] == VERSION
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                          text=True, timeout=30, check=True).stdout.strip()
    assert oci["revision"] in (head, f"{head}-dirty")
    created = datetime.strptime(oci["created"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert timedelta(0) <= datetime.now(UTC) - created < timedelta(seconds=BUILD_TIMEOUT + 60)
    assert oci["source"].startswith("https://")


def test_image_runs_its_component_as_a_non_root_user(config: dict[str, Any]) -> None:
    user = config["config"]["User"]
    assert user.split(":")[0] not in ("", "0", "root"), user
    assert config["config"]["Entrypoint"] == ["python", "-m", "knpy.queue_proxy"]


def test_chart_is_packaged_at_the_version_with_those_images(released: Path) -> None:
    with tarfile.open(released / f"knpy-{VERSION}.tgz") as chart:
        meta = yaml.safe_load(chart.extractfile("knpy/Chart.yaml"))  # type: ignore[arg-type]
        values = yaml.safe_load(chart.extractfile("knpy/values.yaml"))  # type: ignore[arg-type]
    assert (meta["version"], meta["appVersion"]) == (VERSION, VERSION)
    assert (values["image"]["registry"], values["image"]["tag"]) == (REGISTRY, VERSION)
